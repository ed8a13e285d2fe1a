-- Pages: the validation page's count of findings by rule, over the given files (those it lists).
select rule, severity, count(*) as findings, count(distinct submission_id) as files
from marts.validation_findings
where submission_id = any(%(submission_ids)s)
group by rule, severity
order by findings desc, files desc, rule, severity
