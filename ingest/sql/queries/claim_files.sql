-- A run claims the files it received, by content: one run per content at a time. Returns each
-- sha256 with whether this session got it; the locks go with the session (a run that dies
-- releases them) or with release_files at the end of the chunk.
select sha, pg_try_advisory_lock(hashtextextended(sha, 0))
from unnest(%(sha256)b::text[]) as sha
