-- Run summary: poverty-support outcomes ("giúp 6.704 hộ thoát nghèo").
select province_code, province_name, period, households_out_of_poverty,
       out_of_poverty_rate_pct
from marts.poverty_support_outcomes
order by period_end_date desc, period_start_date desc, households_out_of_poverty desc nulls last
limit %(limit)s
