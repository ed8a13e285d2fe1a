-- Files processed earlier that the inbox did not let go, as lstat showed them then: a run skips
-- each one while it is unchanged (ingest.pipeline).
select path, size_bytes, mtime_ns, inode, device
from audit.inbox_unremovable
