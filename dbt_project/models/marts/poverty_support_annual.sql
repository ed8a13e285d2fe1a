-- Poverty-support outcomes of the annual reports only (YYYY), one row per province and year: a relation a
-- BI tool can sum by year without counting the first half twice (contract §4). The figures of a
-- half-year are part of the annual ones; the half-year rows live in poverty_support_half_year.
with

outcomes as (

    select * from {{ ref('poverty_support_outcomes') }}

),

final as (

    select
        {{ province_columns() }},
        {{ period_columns() }},
        period_year,
        districts_reported,
        {{ poverty_measure_columns() }},
        out_of_poverty_rate_pct,
        overdue_ratio_pct,
        submission_id,
        source_file,
        submitted_at

    from outcomes
    where period_kind = 'annual'

)

select * from final
