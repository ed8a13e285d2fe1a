-- Poverty-support outcomes rolled up to the 34 provinces of 1 July 2025: for periods up to
-- 2025-6T the old provinces that merged into one new province are summed; later periods already
-- use the new codes. Each row says how many of the provinces it sums reported (units_reported /
-- units_expected, is_complete), and carries its region and emulation cluster.
with

units as (

    select * from {{ ref('int_poverty_support_units') }}

),

summed as (

    select
        province_code_2025,
        province_name_2025,
        region_code,
        region_name,
        cluster_code,
        cluster_name,
        {{ period_columns() }},
        period_year,
        {{ units_counts() }},
        {{ poverty_measure_sums() }}

    from units
    group by
        province_code_2025, province_name_2025, region_code, region_name, cluster_code,
        cluster_name, {{ period_columns() }}, period_year

),

final as (

    select
        province_code_2025,
        province_name_2025,
        region_code,
        region_name,
        cluster_code,
        cluster_name,
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
