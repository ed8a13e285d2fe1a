-- Every (province, period) the status report covers (contract §7): every annual and half-year
-- period from 2019 that has begun by today (int_periods.is_scheduled), for every province of the
-- map in force when the period ends (63 codes before 1 July 2025, 34 after), plus every
-- (province, period) for which a file was received.
with

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

scheduled as (

    select
        provinces.province_code,
        periods.period,
        true as is_scheduled

    from periods
    inner join provinces
        on provinces.province_code_set = periods.province_code_set
    where periods.is_scheduled

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

expected as (

    select
        province_code,
        period,
        bool_or(is_scheduled) as is_scheduled

    from unioned
    group by province_code, period

),

final as (

    select
        expected.province_code,
        {{ period_columns('periods') }},
        periods.period_year,
        expected.is_scheduled,
        periods.due_date,
        periods.province_code_set

    from expected
    inner join periods
        on periods.period = expected.period

)

select * from final
