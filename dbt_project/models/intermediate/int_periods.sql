-- Every report period the warehouse knows, with its kind and dates: the one place that applies
-- macros/periods.sql. The reporting calendar (contract §7, §9): every annual and half-year
-- period from var first_expected_year that has begun by today (var today, macro
-- calendar_today), plus every period a file named. Every other model takes period kinds, dates
-- and due dates from here.
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
        extract(year from {{ calendar_today() }})::integer
    ) as year

),

calendar as (

    select year::text as period from years
    union all
    select year::text || '-6T' as period from years

),

scheduled as (

    -- both kinds begin on 1 January; the filter keeps the rule "has begun by today" explicit
    select period
    from calendar
    where {{ period_start_date('period') }} <= {{ calendar_today() }}

),

periods as (

    select period from received
    union
    select period from scheduled

),

final as (

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

)

select * from final
