-- Pages: poverty-support outcomes per commune (from the 2025 annual report on), for each
-- province's page; the page keeps the latest period.
select province_code, commune_code, commune_name, unit_type, period, period_kind,
       period_start_date, period_end_date, poor_households_start, households_out_of_poverty,
       households_out_of_near_poverty, out_of_poverty_rate_pct, charity_homes,
       policy_loan_households, policy_loan_outstanding_vnd, savings_loan_groups,
       overdue_ratio_pct, five_no_three_clean_households
from marts.poverty_support_by_commune
order by province_code, period_end_date, period_start_date, excel_row
