-- lhpn rebuild: every table of the raw and audit schemas, which a rebuild empties (the record of
-- applied migrations stays).
select table_schema, table_name
from information_schema.tables
where table_schema in ('raw', 'audit')
  and table_type = 'BASE TABLE'
  and table_name <> 'schema_migrations'
order by 1, 2
