-- Pages: the reporting rounds (marts.reporting_rounds), newest due date first.
select period, period_kind, period_start_date, period_end_date, due_date, status_date,
       days_to_due, is_open, is_current, reminder_stage, provinces_expected, received, accepted,
       accepted_with_warnings, rejected, missing, not_due, late, on_time
from marts.reporting_rounds
order by due_date desc
