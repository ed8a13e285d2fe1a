-- Receipts: each term indicator of each (province, period) with its status.
select province_code, period, indicator_code, indicator_name, indicator_name_en, unit,
       target_value, actual_value, actual_text, attainment_pct, status
from marts.term_indicator_attainment
where (province_code, period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
order by province_code, period, indicator_code
