-- The reminders due today (contract §9): every province with nothing accepted for an open round
-- whose reminder stage has begun, as marts.reporting_rounds and marts.submission_status decide
-- it (nothing re-judged in Python). With, for a province whose files were all rejected, its
-- latest file (what still needs fixing).
select
    status.province_code,
    status.province_name,
    status.period,
    status.period_kind,
    status.due_date,
    status.status,
    rounds.reminder_stage,
    latest.submission_id as rejected_submission_id,
    latest.source_file as rejected_file,
    latest.received_at as rejected_received_at
from marts.reporting_rounds as rounds
inner join marts.submission_status as status
    on status.period = rounds.period
left join marts.submission_versions as latest
    on latest.province_code = status.province_code
    and latest.period = status.period
    and latest.is_latest_file
    and latest.outcome = 'rejected'
where rounds.is_open
  and rounds.reminder_stage is not null
  and status.is_scheduled
  and status.status in ('not_due', 'missing', 'rejected')
  and (%(period)s::text is null or rounds.period = %(period)s)
order by rounds.due_date, status.period, status.province_code
