-- Pages: how many of the given files (those the validation page lists) ended in each outcome.
select lifecycle_status, count(*) as files
from marts.submission_versions
where submission_id = any(%(submission_ids)s)
group by lifecycle_status
order by lifecycle_status
