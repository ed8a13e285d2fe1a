-- The highest version the marts know for each (province, period), and the latest file time they
-- saw: a receipt quotes the marts only once they hold its own file (built after it was loaded).
select province_code, period, latest_version, latest_received_at
from marts.submission_status
where (province_code, period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
