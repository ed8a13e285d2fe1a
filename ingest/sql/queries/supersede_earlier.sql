-- New versions supersede the earlier accepted ones of the same (province, period).
update raw.submissions as s
set status = 'superseded'
from (
    select province_code, period, max(version) as latest
    from raw.submissions
    where submission_id = any(%(submission_ids)b::bigint[]) and version is not null
    group by province_code, period
) as n
where s.province_code = n.province_code
  and s.period = n.period
  and s.version < n.latest
  and s.is_current  -- raw.submissions.is_current (migration 002): loaded, not superseded
