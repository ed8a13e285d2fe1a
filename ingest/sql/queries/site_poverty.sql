-- Pages: poverty-support outcomes per province and period (current versions).
select province_code, province_name, province_code_2025, province_name_2025, region_code,
       region_name, period, period_kind, period_start_date, period_end_date, period_year, districts_reported,
       poor_households_start, households_out_of_poverty, households_out_of_near_poverty,
       female_headed_out_of_poverty, charity_homes, charity_homes_vnd, policy_loan_households,
       policy_loan_outstanding_vnd, livelihood_packages, five_no_three_clean_households,
       out_of_poverty_rate_pct
from marts.poverty_support_outcomes
order by province_code, period_end_date, period_start_date
