-- Every report period the warehouse knows, with its kind and dates: the one place that applies
-- macros/periods.sql. The annual period of every year from var first_expected_year to the latest
-- year any submission names (the periods every province owes, contract §7), plus every period
-- a file named. Every other model takes period kinds and dates from here.
with

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

received as (

    select distinct period
    from submissions
    where period is not null

),

years as (

    select generate_series(
        {{ var('first_expected_year') }},
        (select max({{ period_year('period') }}) from received)
    ) as year

),

scheduled as (

    select year::text as period
    from years

),

periods as (

    select period from received
    union
    select period from scheduled

),

dated as (

    select
        periods.period,
        {{ period_kind('periods.period') }} as period_kind,
        {{ period_year('periods.period') }} as period_year,
        {{ period_start_date('periods.period') }} as period_start_date,
        {{ period_end_date('periods.period') }} as period_end_date,
        {{ period_due_date('periods.period') }} as due_date,
        {{ province_code_set('periods.period') }} as province_code_set,
        scheduled.period is not null as is_scheduled

    from periods
    left join scheduled
        on scheduled.period = periods.period

),

final as (

    select
        period,
        period_kind,
        {{ label_columns('period_kind', 'period_kind') }},
        period_year,
        period_start_date,
        period_end_date,
        due_date,
        province_code_set,
        is_scheduled

    from dated

)

select * from final
