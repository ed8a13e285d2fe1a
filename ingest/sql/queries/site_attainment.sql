-- Pages: each term indicator's attainment, per province, term and period.
select province_code, province_name, term, period, indicator_code, indicator_name,
       indicator_name_en, unit, direction, target_value, actual_value, actual_text,
       attainment_pct, status
from marts.term_indicator_attainment
order by province_code, period, term, indicator_code
