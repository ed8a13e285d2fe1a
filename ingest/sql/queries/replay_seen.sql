-- `lhpn rebuild`: a replayed file was first seen when the archive's ingest log says, not now.
update audit.inbox_seen
set first_seen_at = least(first_seen_at, %(first_seen_at)s)
where sha256 = %(sha256)s
returning first_seen_at
