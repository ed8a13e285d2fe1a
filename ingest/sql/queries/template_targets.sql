-- lhpn template: the term targets in the current versions of these provinces' reports of one
-- term (under any of its labels: 2021-2025 and 2021-2026 are one term, seed term_labels), per
-- period (the caller keeps the latest period: period dates are decided in Python).
-- The current version of a (province, period) is the one whose status is still accepted: the
-- loader marks every earlier version superseded (supersede_earlier.sql).
select s.province_code, s.period, t.indicator_code, t.target_value::float8
from raw.submissions as s
inner join raw.term_indicators as t on t.submission_id = s.submission_id
where s.is_current  -- loaded and not superseded (migration 002)
  and s.province_code = any(%(province_codes)s::text[])
  and trim(s.term) = any(%(terms)s::text[])
  and t.target_value is not null
order by s.province_code, s.period, t.excel_row
