-- Poverty-support outcomes per province and annual or half-year period (current version). The
-- half-year figures are part of the annual ones: annual_period_date (NULL on half-year rows) is
-- the first date column, and poverty_support_annual / _half_year hold each kind alone (§4).
with

district_sums as (

    select * from {{ ref('int_poverty_support_summed') }}

),

final as (

    select
        {{ province_columns() }},
        -- the first date column, so a BI tool's default time column (contract §4)
        {{ annual_period_date() }} as annual_period_date,
        {{ period_columns() }},
        period_year,
        districts_reported,
        poor_households_start,
        female_headed_poor,
        households_out_of_poverty,
        households_out_of_near_poverty,
        female_headed_out_of_poverty,
        charity_homes,
        charity_homes_vnd,
        policy_loan_households,
        policy_loan_outstanding_vnd,
        livelihood_packages,
        five_no_three_clean_households,
        savings_loan_groups,
        overdue_loans_vnd,
        {{ out_of_poverty_rate() }} as out_of_poverty_rate_pct,
        {{ overdue_ratio() }} as overdue_ratio_pct,
        submission_id,
        source_file,
        submitted_at

    from district_sums

)

select * from final
