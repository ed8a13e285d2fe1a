-- The received files of one load batch, one row each (one array per column, equal lengths).
-- Versions are computed by the caller under the advisory locks of the (province, period) pairs.
-- The file's modification time and the backfill mark come from its first sighting in the inbox
-- (audit.inbox_seen, migration 003).
insert into raw.submissions (
    sha256, source_file, province_code, archive_path, size_bytes, received_at,
    declared_province_code, province_name, period, term, report_date, prepared_by, contact,
    sheets, outcome, status, version, error_count, warning_count, file_modified_at, is_backfill
)
select
    f.sha256, f.source_file, f.province_code, f.archive_path, f.size_bytes, f.received_at,
    f.declared_province_code, f.province_name, f.period, f.term, f.report_date, f.prepared_by,
    f.contact, string_to_array(f.sheets, ','), f.outcome, f.outcome, f.version, f.error_count,
    f.warning_count, seen.file_modified_at, coalesce(seen.is_backfill, false)
from unnest(
    %(sha256)b::text[], %(source_file)b::text[], %(province_code)b::text[],
    %(archive_path)b::text[], %(size_bytes)b::bigint[], %(received_at)b::timestamptz[],
    %(declared_province_code)b::text[], %(province_name)b::text[], %(period)b::text[],
    %(term)b::text[], %(report_date)b::date[], %(prepared_by)b::text[], %(contact)b::text[],
    %(sheets)b::text[], %(outcome)b::text[], %(version)b::integer[], %(error_count)b::integer[],
    %(warning_count)b::integer[]
) as f (
    sha256, source_file, province_code, archive_path, size_bytes, received_at,
    declared_province_code, province_name, period, term, report_date, prepared_by, contact,
    sheets, outcome, version, error_count, warning_count
)
left join audit.inbox_seen as seen
    on seen.sha256 = f.sha256
on conflict (sha256) do nothing
returning sha256, submission_id, version
