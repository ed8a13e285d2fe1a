-- The first time the warehouse saw a file's content in the inbox (audit.inbox_seen): inserted
-- the first time, kept ever after; a later run marked as a backfill marks it as one too.
insert into audit.inbox_seen (
    sha256, source_file, province_code, size_bytes, file_modified_at, is_backfill
)
values (
    %(sha256)s, %(source_file)s, %(province_code)s, %(size_bytes)s, %(file_modified_at)s,
    %(is_backfill)s
)
on conflict (sha256) do update
    set is_backfill = audit.inbox_seen.is_backfill or excluded.is_backfill
returning first_seen_at
