-- BI access (issue 19, contract §4, §6).
-- bi_province: the group of the per-province logins `lhpn bi-role <code>` creates (bi_province_60,
-- ...). It reads the marts like bi_reader, but row-level security policies (dbt macro
-- province_row_security, applied to every mart at every build) let each member see the rows of
-- its own province only.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'bi_province') then
        create role bi_province nologin;
    end if;
end
$$;
grant usage on schema marts to bi_province;
alter default privileges in schema marts grant select on tables to bi_province;

-- Nothing but marts: no temporary tables in the warehouse database and no use of schema public
-- (PostgreSQL grants both to PUBLIC by default); the owner keeps them.
do $$
begin
    execute format('revoke temporary on database %I from public', current_database());
end
$$;
revoke all on schema public from public;

-- The SCRAM verifier each BI login's password was last set with (never the password itself):
-- a password is sent to the server only when it no longer matches (ingest/warehouse.py).
-- role_oid tells a role dropped and created again, which has lost its password.
create table audit.bi_credentials (
    role_name  text primary key,
    role_oid   oid not null,
    verifier   text not null,
    set_at     timestamptz not null default now()
);
