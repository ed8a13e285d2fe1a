-- Pages: the province x period grid of submission status.
select province_code, province_name, province_code_2025, province_name_2025, period,
       period_kind, period_start_date, period_end_date, period_year, is_scheduled, received, files_received, files_rejected,
       first_received_at, latest_version, status, latest_file_outcome, due_date, on_time
from marts.submission_status
order by province_code, period_end_date, period_start_date
