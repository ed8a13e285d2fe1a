-- lhpn status: processed files the inbox does not let go (later runs skip them), and the runs
-- that died (killed outright; their files were taken by a later run).
select
    province_code,
    source_file,
    reason,
    recorded_at
from audit.inbox_unremovable
where (%(province)s::text is null or province_code = %(province)s)
order by province_code, source_file
