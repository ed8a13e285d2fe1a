-- A run begins: who runs it (process, host, database session), so a later run can tell that it
-- died (its session is gone) and mark it.
insert into audit.runs (run_id, trigger, pid, host, backend_pid, backend_start)
select %(run_id)s, %(trigger)s, %(pid)s, %(host)s, pid, backend_start
from pg_stat_activity
where pid = pg_backend_pid()
