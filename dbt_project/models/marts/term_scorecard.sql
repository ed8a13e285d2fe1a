-- How many term indicators each province met or exceeded, per report: "7/8".
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
        count(*) filter (where status = 'chua_dat') as indicators_not_met,
        count(*) filter (where not is_reported) as indicators_not_reported,
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
