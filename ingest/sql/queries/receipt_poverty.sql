-- Receipts: the poverty-support headline figures of each (province, period).
select province_code, period, poor_households_start, households_out_of_poverty,
       out_of_poverty_rate_pct, households_out_of_near_poverty, female_headed_out_of_poverty,
       charity_homes, charity_homes_vnd, policy_loan_households, policy_loan_outstanding_vnd,
       livelihood_packages, five_no_three_clean_households
from marts.poverty_support_outcomes
where (province_code, period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
