-- lhpn status: one line per province and period; the status by its labels (decided once in dbt).
select
    province_code,
    province_name,
    period,
    status,
    status_label_vi,
    status_label_en,
    latest_version,
    first_received_at,
    on_time,
    days_late
from marts.submission_status
where (%(province)s::text is null or province_code = %(province)s)
  and (%(period)s::text is null or period = %(period)s)
  and (%(show_all)s or received)
order by period_end_date, period_start_date, period, province_code
