-- The latest version of each (province, period) named, read under their advisory locks.
select province_code, period, max(version)
from raw.submissions
where version is not null
  and (province_code, period) in (
      select * from unnest(%(province_code)b::text[], %(period)b::text[])
  )
group by province_code, period
