-- lhpn rebuild: the ingest log names a replayed file by its inbox path, not the staging folder's.
update audit.ingest_log
set path = %(inbox_path)s
where path = %(staged_path)s
