-- Pages: every term scorecard ("7/8"), the dashboard keeps each province's latest period.
select province_code, province_name, province_code_2025, province_name_2025, term, period,
       period_kind, period_start_date, period_end_date, indicators_total, indicators_met,
       indicators_exceeded, indicators_met_not_exceeded, indicators_not_met,
       indicators_not_reported, scorecard_label, met_pct, version, submitted_at
from marts.term_scorecard
order by province_code, period_end_date, period_start_date, term
