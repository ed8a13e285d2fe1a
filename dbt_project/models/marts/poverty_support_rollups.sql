-- Poverty-support outcomes summed per region and per emulation cluster of the 2025 map, per
-- period, with how many of the group's provinces reported (in the code set of the period: the
-- old provinces up to 2025-6T). The dashboard draws these; a partial sum says it is partial.
with

units as (

    select * from {{ ref('int_poverty_support_units') }}

),

grouped as (

    select
        'region' as grouping,
        region_code as group_code,
        region_name as group_name,
        units.*

    from units

    union all

    select
        'cluster' as grouping,
        cluster_code as group_code,
        cluster_name as group_name,
        units.*

    from units
    where cluster_code is not null

),

summed as (

    select
        grouping,
        group_code,
        group_name,
        {{ period_columns() }},
        period_year,
        {{ units_counts() }},
        {{ poverty_measure_sums() }}

    from grouped
    group by
        grouping, group_code, group_name, {{ period_columns() }}, period_year

),

final as (

    select
        grouping,
        {{ label_columns('grouping', 'grouping') }},
        group_code,
        group_name,
        {{ annual_period_date() }} as annual_period_date,
        {{ period_columns() }},
        period_year,
        units_reported,
        units_expected,
        {{ is_complete() }} as is_complete,
        {{ poverty_measure_columns() }},
        {{ out_of_poverty_rate() }} as out_of_poverty_rate_pct,
        {{ overdue_ratio() }} as overdue_ratio_pct

    from summed
    where units_reported > 0

)

select * from final
