-- Pages: poverty-support outcomes summed per region and per emulation cluster (2025 map), with
-- their completeness (units_reported / units_expected, is_complete).
select grouping, group_code, group_name, period, period_kind, period_year, period_start_date,
       period_end_date, units_reported, units_expected, is_complete, poor_households_start,
       households_out_of_poverty, out_of_poverty_rate_pct
from marts.poverty_support_rollups
order by grouping, group_name, period_end_date
