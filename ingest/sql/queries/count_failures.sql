-- How often processing this file failed before with the same error (poison-file handling): by
-- content when it was read, else by sender and name.
select count(*)
from audit.ingest_log
where event = 'failed'
  and left(message, 80) = left(%(message)s, 80)
  and (sha256 = %(sha256)s
       or (%(sha256)s::text is null and sha256 is null
           and source_file = %(source_file)s
           and province_code is not distinct from %(province_code)s))
