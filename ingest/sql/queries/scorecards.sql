-- Run summary: term scorecards ("7/8 chỉ tiêu đạt") of the latest period of each province.
select province_code, province_name, term, period, scorecard_label
from marts.term_scorecard
order by period_end_date desc, period_start_date desc, indicators_met desc, province_code
limit %(limit)s
