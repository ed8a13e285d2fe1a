-- Runs left `running` whose database session is gone (the process was killed, or the server or
-- machine restarted): marked `died`. A session is the same one only with the same pid and start
-- time (pids are reused); a start time this role may not see (NULL) is taken as the same. Runs recorded before sessions were (backend_pid NULL) and older than a
-- day are marked too.
update audit.runs as r
set status = 'died',
    finished_at = now()
where r.status = 'running'
  and (
      (r.backend_pid is not null and not exists (
          select 1
          from pg_stat_activity as a
          where a.pid = r.backend_pid
            and (a.backend_start is null or a.backend_start = r.backend_start)
      ))
      or (r.backend_pid is null and r.started_at < now() - interval '1 day')
  )
returning r.run_id
