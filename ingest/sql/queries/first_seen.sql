-- The first time the warehouse saw each file's content in the inbox (audit.inbox_seen), for
-- the files of one chunk at once (one array per column, equal lengths, each sha256 once):
-- inserted the first time, kept ever after; a later run marked as a backfill marks it as one
-- too. Each new row gets the clock at its own insert, in the order given (as one statement per
-- file did), so files first seen together keep the order they were taken in.
insert into audit.inbox_seen (
    sha256, first_seen_at, source_file, province_code, size_bytes, file_modified_at,
    is_backfill
)
select
    f.sha256, clock_timestamp(), f.source_file, f.province_code, f.size_bytes,
    f.file_modified_at, f.is_backfill
from unnest(
    %(sha256)b::text[], %(source_file)b::text[], %(province_code)b::text[],
    %(size_bytes)b::bigint[], %(file_modified_at)b::timestamptz[], %(is_backfill)b::boolean[]
) with ordinality as f (
    sha256, source_file, province_code, size_bytes, file_modified_at, is_backfill, ord
)
order by f.ord
on conflict (sha256) do update
    set is_backfill = audit.inbox_seen.is_backfill or excluded.is_backfill
returning sha256, first_seen_at
