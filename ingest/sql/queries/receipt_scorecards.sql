-- Receipts: the term scorecard ("7/8") of each (province, period).
select province_code, period, term, indicators_met, indicators_total, indicators_not_met,
       indicators_not_reported, scorecard_label
from marts.term_scorecard
where (province_code, period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
