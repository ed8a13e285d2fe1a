-- Inbox files that were processed but cannot be removed from the inbox (a read-only share, an
-- immutable file): recorded by path and by what `lstat` showed when they were read, with their
-- content hash, so later runs skip them (one log line) until they change or are taken away.
create table audit.inbox_unremovable (
    path           text primary key,  -- the inbox path (names.portable_path)
    sha256         text,              -- NULL for a file answered unread (over the size limit)
    size_bytes     bigint not null,
    mtime_ns       bigint not null,
    inode          bigint not null,
    device         bigint not null,
    source_file    text not null,
    province_code  text,
    reason         text not null,
    run_id         text,
    recorded_at    timestamptz not null default now()
);

-- Who runs a run: a later run marks a `running` row whose database session is gone as `died`.
alter table audit.runs
    add column pid integer,
    add column host text,
    add column backend_pid integer,
    add column backend_start timestamptz,
    add column unremovable integer not null default 0,
    add column skipped integer not null default 0;

-- The exact inbox path each event is about (names.portable_path: any bytes): receipts are keyed
-- by it, so names that display alike (a byte that is not UTF-8 and its `\xNN` spelled out, a
-- newline and `\x0a`) and the same name in different folders each get their own answer.
alter table audit.ingest_log add column path text;
