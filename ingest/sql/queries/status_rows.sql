-- lhpn status: one line per province and period.
select
    s.province_code,
    coalesce(p.province_name, n.new_name, '') as province_name,
    s.period,
    s.status,
    s.latest_version,
    s.first_received_at,
    s.on_time
from marts.submission_status as s
left join reference.provinces_2024 as p on p.province_code = s.province_code
left join (select distinct new_code, new_name from reference.province_merger_2025) as n
    on n.new_code = s.province_code
where (%(province)s::text is null or s.province_code = %(province)s)
  and (%(period)s::text is null or s.period = %(period)s)
  and (%(show_all)s or s.status <> 'missing')
order by s.period, s.province_code
