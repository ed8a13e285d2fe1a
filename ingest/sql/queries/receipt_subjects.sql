-- What each receipt answers for: the latest outcome of every dropped file (its exact inbox path;
-- folder and name for log entries older than the path) and the submission it is about; for a
-- duplicate, the file first received with the same bytes. With the version it superseded and,
-- once superseded, the version that replaced it; and the version the warehouse uses for the
-- province and period now (the loader's is_current), which a rejected file's receipt names.
-- %(sha256)b: only the files with these contents (a run's), or null for every file answered.
-- %(loaded_only)s: only files whose submission was loaded (the receipts that quote the marts).
with

outcomes as (

    select distinct on (coalesce(path, province_code || '/' || source_file))
        log_id,
        path,
        logged_at,
        coalesce(province_code, '') as folder_province,
        source_file,
        event,
        sha256,
        message
    from audit.ingest_log
    where event in ('accepted', 'accepted_with_warnings', 'rejected', 'duplicate', 'failed')
      and (%(sha256)b::text[] is null or sha256 = any(%(sha256)b::text[]))
    order by coalesce(path, province_code || '/' || source_file), log_id desc

)

select
    outcomes.path,
    outcomes.folder_province,
    outcomes.source_file,
    outcomes.event,
    outcomes.logged_at,
    outcomes.sha256,
    outcomes.message,
    s.submission_id,
    s.source_file as submission_file,
    s.province_code,
    s.declared_province_code,
    s.received_at,
    s.processed_at,
    s.period,
    s.term,
    s.version,
    s.outcome,
    s.status,
    s.error_count,
    s.warning_count,
    earlier.version as supersedes_version,
    earlier.source_file as supersedes_file,
    earlier.received_at as supersedes_received_at,
    later.version as superseded_by_version,
    later.source_file as superseded_by_file,
    later.received_at as superseded_by_received_at,
    in_use.version as current_version,
    in_use.source_file as current_file,
    in_use.received_at as current_received_at
from outcomes
left join raw.submissions as s
    on s.sha256 = outcomes.sha256
left join lateral (
    select version, source_file, received_at
    from raw.submissions as p
    where p.province_code = s.province_code
      and p.period = s.period
      and p.version < s.version
    order by p.version desc
    limit 1
) as earlier on true
left join lateral (
    select version, source_file, received_at
    from raw.submissions as p
    where p.province_code = s.province_code
      and p.period = s.period
      and p.version > s.version
    order by p.version desc
    limit 1
) as later on true
left join lateral (
    select version, source_file, received_at
    from raw.submissions as p
    where p.province_code = s.province_code
      and p.period = s.period
      and p.is_current
    limit 1
) as in_use on true
where not %(loaded_only)s or s.outcome in ('accepted', 'accepted_with_warnings')
order by outcomes.folder_province, outcomes.source_file
