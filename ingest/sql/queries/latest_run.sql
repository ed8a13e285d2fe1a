-- Pages: the most recent pipeline run, named on the index when the caller gives no run id.
select run_id, started_at, finished_at
from audit.runs
order by started_at desc
limit 1
