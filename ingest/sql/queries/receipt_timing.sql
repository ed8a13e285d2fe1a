-- The due date of each file's period and whether the file came on time, as the marts decided it
-- (marts.submission_versions: the file's first sighting against the due date, a Vietnam date).
select submission_id, period, due_date, is_backfill, on_time, days_late
from marts.submission_versions
where submission_id = any(%(submission_ids)b::bigint[])
