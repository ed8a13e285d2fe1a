-- The (province, period) pairs whose report is accepted: their reminders are withdrawn (§9).
select province_code, period
from marts.submission_status
where status in ('accepted', 'accepted_with_warnings')
