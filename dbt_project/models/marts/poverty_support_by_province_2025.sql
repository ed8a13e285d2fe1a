-- Poverty-support outcomes rolled up to the 34 provinces of 1 July 2025: for periods up to
-- 2025-6T the old provinces that merged into one new province are summed; later periods already
-- use the new codes. Each 2025 province carries its region and its emulation cluster of the
-- latest cluster year (the 2025 map), so clusters and regions can be summed over time.
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

clusters as (

    select * from {{ ref('emulation_clusters') }}

),

provinces_2025 as (

    select * from provinces
    where province_code_set = '2025'

),

merged_counts as (

    select
        province_code_2025,
        count(*) as provinces_merged

    from provinces
    where province_code_set = '2024'
    group by province_code_2025

),

clusters_2025 as (

    select
        province_code,
        cluster_code,
        cluster_name

    from clusters
    where year = (select max(year) from clusters)
        and year >= extract(year from date '{{ var("province_merger_date") }}')

),

summed as (

    select
        province_code_2025,
        period,
        period_kind,
        period_start_date,
        period_end_date,
        period_year,
        count(*) as provinces_reported,
        {{ poverty_measure_sums() }}

    from outcomes
    group by
        province_code_2025, period, period_kind, period_start_date, period_end_date, period_year

),

final as (

    select
        summed.province_code_2025,
        provinces_2025.province_name as province_name_2025,
        provinces_2025.region_code,
        provinces_2025.region_name,
        clusters_2025.cluster_code,
        clusters_2025.cluster_name,
        {{ period_columns('summed') }},
        summed.period_year,
        summed.provinces_reported,
        -- Before the merger a new province is several old ones; a sum is partial when some of
        -- them did not report.
        case
            when periods.province_code_set = '2024'
                then coalesce(merged_counts.provinces_merged, 1)
            else 1
        end as provinces_expected,
        summed.poor_households_start,
        summed.female_headed_poor,
        summed.households_out_of_poverty,
        summed.households_out_of_near_poverty,
        summed.female_headed_out_of_poverty,
        summed.charity_homes,
        summed.charity_homes_vnd,
        summed.policy_loan_households,
        summed.policy_loan_outstanding_vnd,
        summed.livelihood_packages,
        summed.five_no_three_clean_households,
        summed.savings_loan_groups,
        summed.overdue_loans_vnd,
        round(
            summed.households_out_of_poverty * 100.0 / nullif(summed.poor_households_start, 0), 2
        ) as out_of_poverty_rate_pct,
        {{ overdue_ratio_pct('summed.overdue_loans_vnd', 'summed.policy_loan_outstanding_vnd') }}
            as overdue_ratio_pct

    from summed
    left join periods
        on periods.period = summed.period
    left join provinces_2025
        on provinces_2025.province_code = summed.province_code_2025
    left join merged_counts
        on merged_counts.province_code_2025 = summed.province_code_2025
    left join clusters_2025
        on clusters_2025.province_code = summed.province_code_2025

)

select * from final
