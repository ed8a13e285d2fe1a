-- Poverty-support outcomes per commune, from the 2025 annual report on (contract §2, §4): each
-- unit row of the current annual or half-year report of a 2025-map province, with the code and
-- official name of the commune it was matched to at ingest. Earlier periods have districts as
-- free text and are in poverty_support_outcomes only.
with

current_submissions as (

    select * from {{ ref('int_submissions_current') }}

),

poverty_rows as (

    select * from {{ ref('stg_raw__poverty_support') }}

),

communes as (

    select * from {{ ref('communes') }}

),

final as (

    select
        {{ province_columns('current_submissions') }},
        poverty_rows.commune_code,
        communes.commune_name,
        communes.unit_type,
        poverty_rows.district_name as unit_name_as_written,
        -- the first date column, so a BI tool's default time column (contract §4)
        {{ annual_period_date('current_submissions') }} as annual_period_date,
        {{ period_columns('current_submissions') }},
        current_submissions.period_year,
        poverty_rows.poor_households_start,
        poverty_rows.female_headed_poor,
        poverty_rows.households_out_of_poverty,
        poverty_rows.households_out_of_near_poverty,
        poverty_rows.female_headed_out_of_poverty,
        poverty_rows.charity_homes,
        poverty_rows.charity_homes_vnd,
        poverty_rows.policy_loan_households,
        poverty_rows.policy_loan_outstanding_vnd,
        poverty_rows.livelihood_packages,
        poverty_rows.five_no_three_clean_households,
        poverty_rows.savings_loan_groups,
        poverty_rows.overdue_loans_vnd,
        {{ out_of_poverty_rate('poverty_rows') }} as out_of_poverty_rate_pct,
        {{ overdue_ratio('poverty_rows') }} as overdue_ratio_pct,
        poverty_rows.excel_row,
        current_submissions.submission_id,
        current_submissions.source_file,
        current_submissions.received_at as submitted_at

    from poverty_rows
    inner join current_submissions
        on current_submissions.submission_id = poverty_rows.submission_id
    inner join communes
        on communes.commune_code = poverty_rows.commune_code
    where not poverty_rows.is_total
        and current_submissions.period_kind in {{ sheet_period_kinds('poverty_support') }}

)

select * from final
