-- Pages: every file received, newest first (the province pages' history, the validation page).
select submission_id, province_code, province_name, period, period_kind, period_start_date, period_end_date, term,
       source_file, received_at, report_date, sheets, version, outcome, lifecycle_status,
       is_current, is_latest_file, error_count, warning_count
from marts.submission_versions
order by received_at desc, submission_id desc
