-- What happened to a file: received, duplicate, accepted, rejected, failed...
insert into audit.ingest_log (run_id, sha256, source_file, province_code, event, submission_id,
                              message, path)
values (%(run_id)s, %(sha256)s, %(source_file)s, %(province_code)s, %(event)s, %(submission_id)s,
        %(message)s, %(path)s)
