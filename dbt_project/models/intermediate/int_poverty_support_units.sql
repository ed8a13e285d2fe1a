-- The units every poverty-support roll-up sums (contract §4 "Sums over provinces carry their
-- completeness"): for each annual or half-year period anyone reported, every province expected
-- to report it (the 63 codes up to 2025-6T, the 34 after, §1), with the province it belongs to on
-- the 2025 map, that province's region and cluster, and its figures when it reported. A roll-up
-- counts units_expected over these rows and units_reported over the ones reported, so a sum
-- missing a province says so instead of looking like a fall.
with

outcomes as (

    select * from {{ ref('poverty_support_outcomes') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

groups as (

    select * from {{ ref('int_province_groups_2025') }}

),

reported_periods as (

    select distinct period
    from outcomes

),

expected as (

    select
        periods.period,
        periods.period_kind,
        periods.period_start_date,
        periods.period_end_date,
        periods.period_year,
        provinces.province_code,
        provinces.province_name,
        provinces.province_code_2025

    from reported_periods
    inner join periods
        on periods.period = reported_periods.period
    inner join provinces
        on provinces.province_code_set = periods.province_code_set

),

final as (

    select
        expected.province_code,
        expected.province_name,
        expected.province_code_2025,
        groups.province_name_2025,
        groups.region_code,
        groups.region_name,
        groups.cluster_code,
        groups.cluster_name,
        {{ period_columns('expected') }},
        expected.period_year,
        outcomes.province_code is not null as is_reported,
        {{ poverty_measure_columns('outcomes') }}

    from expected
    left join outcomes
        on outcomes.province_code = expected.province_code
        and outcomes.period = expected.period
    left join groups
        on groups.province_code_2025 = expected.province_code_2025

)

select * from final
