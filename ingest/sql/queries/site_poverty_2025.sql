-- Pages: poverty-support outcomes rolled up to the 34 provinces of 2025 (with region, cluster),
-- with their completeness (units_reported / units_expected, is_complete).
select province_code_2025, province_name_2025, region_code, region_name, cluster_code,
       cluster_name, period, period_kind, period_year, period_start_date, period_end_date,
       units_reported, units_expected, is_complete, poor_households_start,
       households_out_of_poverty, out_of_poverty_rate_pct
from marts.poverty_support_by_province_2025
order by period_end_date, province_code_2025
