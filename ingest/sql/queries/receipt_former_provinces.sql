-- Receipts: for a report of an old province that merged on 1 July 2025, how many of the former
-- provinces of its 2025 province have reported the period ("1/3 tỉnh cũ đã báo cáo"), as the
-- roll-up to the 2025 map holds it.
select outcomes.province_code, outcomes.period, rollup.province_code_2025,
       rollup.province_name_2025, rollup.units_reported, rollup.units_expected,
       rollup.is_complete
from marts.poverty_support_outcomes as outcomes
inner join marts.poverty_support_by_province_2025 as rollup
    on rollup.province_code_2025 = outcomes.province_code_2025
    and rollup.period = outcomes.period
where (outcomes.province_code, outcomes.period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
  and rollup.units_expected > 1
