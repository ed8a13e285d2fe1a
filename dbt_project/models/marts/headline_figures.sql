-- The figures leaders quote (contract §8), one row per year of annual reports: households helped
-- out of poverty and charity homes summed over the 34 provinces of 1 July 2025 (with how many of
-- them are complete: every old province of a merged one reported), and the term indicators met
-- over the provinces' annual scorecards of that year. The dashboard opens with the latest year.
with

poverty as (

    select * from {{ ref('poverty_support_by_province_2025') }}

),

scorecards as (

    select * from {{ ref('term_scorecard') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

provinces_2025 as (

    select count(*) as provinces_total
    from provinces
    where province_code_set = '2025'

),

poverty_years as (

    select
        period,
        count(*) as poverty_provinces,
        count(*) filter (where is_complete) as poverty_provinces_complete,
        sum(households_out_of_poverty) as households_out_of_poverty,
        sum(households_out_of_poverty) filter (
            where is_complete
        ) as households_out_of_poverty_complete,
        sum(charity_homes) as charity_homes

    from poverty
    where period_kind = 'annual'
    group by period

),

scorecard_years as (

    select
        period,
        count(*) as scorecard_provinces,
        sum(indicators_met) as indicators_met,
        sum(indicators_total) as indicators_total

    from scorecards
    where period_kind = 'annual'
    group by period

),

years as (

    select period from poverty_years
    union
    select period from scorecard_years

),

final as (

    select
        {{ period_columns('periods') }},
        periods.period_year,
        provinces_2025.provinces_total,
        coalesce(poverty_years.poverty_provinces, 0) as poverty_provinces,
        coalesce(poverty_years.poverty_provinces_complete, 0) as poverty_provinces_complete,
        poverty_years.households_out_of_poverty,
        poverty_years.households_out_of_poverty_complete,
        poverty_years.charity_homes,
        coalesce(scorecard_years.scorecard_provinces, 0) as scorecard_provinces,
        scorecard_years.indicators_met,
        scorecard_years.indicators_total

    from years
    inner join periods
        on periods.period = years.period
    left join poverty_years
        on poverty_years.period = years.period
    left join scorecard_years
        on scorecard_years.period = years.period
    cross join provinces_2025

)

select * from final
