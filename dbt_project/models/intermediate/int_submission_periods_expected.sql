-- Every (province, period) the status report covers (contract §7): the annual period of every
-- year from 2019 to the latest year any submission names, for each province existing that year,
-- plus every (province, period) for which a file was received.
with

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

years as (

    select generate_series(
        {{ var('first_expected_year') }},
        (select max(period_year) from submissions)
    ) as year

),

scheduled as (

    select
        provinces.province_code,
        years.year::text as period,
        true as is_scheduled

    from years
    inner join provinces
        on provinces.province_code_set = {{ province_code_set('years.year::text') }}

),

received as (

    select distinct
        province_code,
        period,
        false as is_scheduled

    from submissions
    where period is not null

),

unioned as (

    select * from scheduled
    union all
    select * from received

),

periods as (

    select
        province_code,
        period,
        bool_or(is_scheduled) as is_scheduled

    from unioned
    group by province_code, period

),

final as (

    select
        province_code,
        period,
        is_scheduled,
        {{ period_kind('period') }} as period_kind,
        {{ period_year('period') }} as period_year,
        {{ period_due_date('period') }} as due_date,
        {{ province_code_set('period') }} as province_code_set

    from periods

)

select * from final
