-- A new version supersedes the earlier accepted ones of the same (province, period).
update raw.submissions
set status = 'superseded'
where province_code = %(province_code)s
  and period = %(period)s
  and submission_id <> %(submission_id)s
  and status in ('accepted', 'accepted_with_warnings')
