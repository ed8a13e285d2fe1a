-- Lines of the ingest log for many files at once (one array per column, equal lengths): what
-- log_event inserts one by one, in the order given (log_id follows it), in one statement.
insert into audit.ingest_log (run_id, sha256, source_file, province_code, event, submission_id,
                              message, path)
select
    e.run_id, e.sha256, e.source_file, e.province_code, e.event, e.submission_id, e.message,
    e.path
from unnest(
    %(run_id)b::text[], %(sha256)b::text[], %(source_file)b::text[],
    %(province_code)b::text[], %(event)b::text[], %(submission_id)b::bigint[],
    %(message)b::text[], %(path)b::text[]
) with ordinality as e (
    run_id, sha256, source_file, province_code, event, submission_id, message, path, ord
)
order by e.ord
