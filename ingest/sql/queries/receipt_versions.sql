-- The highest version the marts know for each (province, period): a receipt quotes the marts
-- only once they hold its own version (built after it was loaded).
select province_code, period, latest_version
from marts.submission_status
where (province_code, period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
