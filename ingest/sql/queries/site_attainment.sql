-- Pages: each term indicator's attainment, per province, term and period.
select province_code, province_name, term, period, period_start_date, period_end_date,
       indicator_code, indicator_name,
       indicator_name_en, unit, value_type, direction, target_value, actual_value, actual_text,
       attainment_pct, status
from marts.term_indicator_attainment
order by province_code, period_end_date, period_start_date, term, indicator_code
