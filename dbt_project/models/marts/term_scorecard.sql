-- How many term indicators each province met or exceeded, per report: "7/8". The total is the
-- indicators of the province's own resolution (the rows of its ChiTieu sheet with a target or a
-- result; a row with neither is not loaded, contract §2); an indicator not reported yet
-- (chua_bao_cao) is in the total and apart from the ones not met.
with

attainment as (

    select * from {{ ref('term_indicator_attainment') }}

),

counted as (

    select
        {{ province_columns() }},
        term,
        {{ period_columns() }},
        count(*) as indicators_total,
        count(*) filter (where status in ('vuot', 'dat')) as indicators_met,
        count(*) filter (where status = 'vuot') as indicators_exceeded,
        count(*) filter (where status = 'dat') as indicators_met_not_exceeded,
        count(*) filter (where status = 'chua_dat') as indicators_not_met,
        count(*) filter (where status = 'chua_bao_cao') as indicators_not_reported,
        max(version) as version,
        max(source_file) as source_file,
        max(submitted_at) as submitted_at

    from attainment
    group by
        {{ province_columns() }},
        term,
        {{ period_columns() }}

),

final as (

    select
        *,
        indicators_met || '/' || indicators_total as scorecard_label,
        round(indicators_met * 100.0 / indicators_total, 2) as met_pct

    from counted

)

select * from final
