-- Each province of the map from 1 July 2025 with the groups its figures are summed into: its
-- region (that of the old province holding its centre) and its emulation cluster of the latest
-- cluster year, from 2025 on (NULL before a 2025 cluster seed exists).
with

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

clusters_2025 as (

    select
        province_code,
        cluster_code,
        cluster_name

    from clusters
    where year = (select max(year) from clusters)
        and year >= extract(year from date '{{ var("province_merger_date") }}')

),

final as (

    select
        provinces_2025.province_code as province_code_2025,
        provinces_2025.province_name as province_name_2025,
        provinces_2025.region_code,
        provinces_2025.region_name,
        clusters_2025.cluster_code,
        clusters_2025.cluster_name

    from provinces_2025
    left join clusters_2025
        on clusters_2025.province_code = provinces_2025.province_code

)

select * from final
