-- The end of a chunk: let go of the files claim_files took.
select pg_advisory_unlock_all()
