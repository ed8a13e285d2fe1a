-- Poverty-support outcomes per province and annual or half-year period (current version).
with

district_sums as (

    select * from {{ ref('int_poverty_support_summed') }}

),

final as (

    select
        {{ province_columns() }},
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
        round(
            households_out_of_poverty * 100.0 / nullif(poor_households_start, 0), 2
        ) as out_of_poverty_rate_pct,
        {{ overdue_ratio_pct('overdue_loans_vnd', 'policy_loan_outstanding_vnd') }}
            as overdue_ratio_pct,
        submission_id,
        source_file,
        submitted_at

    from district_sums

)

select * from final
