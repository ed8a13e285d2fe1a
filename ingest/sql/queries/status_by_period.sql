-- lhpn status: one line per period, from the submission_status mart.
select
    period,
    due_date,
    count(*) filter (where received)                         as received,
    count(*) filter (where status = 'accepted')               as accepted,
    count(*) filter (where status = 'accepted_with_warnings') as with_warnings,
    count(*) filter (where status = 'rejected')               as rejected,
    count(*) filter (where status = 'missing')                as missing,
    count(*) filter (where status = 'not_due')                as not_due,
    count(*) filter (where on_time is false)                  as late
from marts.submission_status
where (%(province)s::text is null or province_code = %(province)s)
  and (%(period)s::text is null or period = %(period)s)
group by period, period_start_date, period_end_date, due_date
order by period_end_date, period_start_date, period
