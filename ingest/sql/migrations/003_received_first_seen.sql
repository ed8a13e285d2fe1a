-- Received means first seen (contract §7). When the warehouse first saw a settled file in the
-- inbox, recorded durably at the inbox walk (ingest.receive.seen.first_seen), so a retry or a
-- restart keeps the first time; the file's modification time, which copies keep (cp -p, SMB,
-- Explorer), is kept apart as file_modified_at and never decides lateness. Keyed by content: the
-- same bytes seen again (a failed file retried, a duplicate) keep their first sighting.
create table audit.inbox_seen (
    sha256            text primary key,
    first_seen_at     timestamptz not null default now(),
    source_file       text not null,          -- the name it had when first seen
    province_code     text,                   -- the inbox folder it was first seen in
    size_bytes        bigint not null,
    file_modified_at  timestamptz not null,   -- its mtime when first seen
    -- the run that saw it imported history on purpose (lhpn run --backfill, LHPN_BACKFILL=1):
    -- its submission gets on_time NULL, never a false late
    is_backfill       boolean not null default false
);

alter table raw.submissions add column file_modified_at timestamptz;
alter table raw.submissions add column is_backfill boolean not null default false;

-- Submissions loaded before this migration: received_at was the file's mtime; keep it as such.
update raw.submissions set file_modified_at = received_at where file_modified_at is null;
