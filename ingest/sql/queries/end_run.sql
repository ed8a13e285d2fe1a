-- A run ends (succeeded or failed): what it did.
update audit.runs
set finished_at = now(),
    files_seen = %(files_seen)s,
    accepted = %(accepted)s,
    rejected = %(rejected)s,
    duplicates = %(duplicates)s,
    deferred = %(deferred)s,
    unremovable = %(unremovable)s,
    skipped = %(skipped)s,
    status = %(status)s
where run_id = %(run_id)s
