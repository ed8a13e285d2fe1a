-- Unit rows (districts up to 2025-6T, communes from the 2025 annual report on, with their
-- commune_code) and the total row as written; the marts sum the unit rows only.
with

source as (

    select * from {{ source('raw', 'poverty_support') }}

),

renamed as (

    select
        submission_id,
        excel_row,
        district_name,
        nullif(trim(commune_code), '') as commune_code,
        is_total,
        poor_households_start::bigint as poor_households_start,
        female_headed_poor::bigint as female_headed_poor,
        households_out_of_poverty::bigint as households_out_of_poverty,
        households_out_of_near_poverty::bigint as households_out_of_near_poverty,
        female_headed_out_of_poverty::bigint as female_headed_out_of_poverty,
        charity_homes::bigint as charity_homes,
        charity_homes_vnd::numeric as charity_homes_vnd,
        policy_loan_households::bigint as policy_loan_households,
        policy_loan_outstanding_vnd::numeric as policy_loan_outstanding_vnd,
        livelihood_packages::bigint as livelihood_packages,
        five_no_three_clean_households::bigint as five_no_three_clean_households,
        savings_loan_groups::bigint as savings_loan_groups,
        overdue_loans_vnd::numeric as overdue_loans_vnd

    from source

)

select * from renamed
