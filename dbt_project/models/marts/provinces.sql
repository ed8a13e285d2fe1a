-- Dimension of provinces (contract §4): one row per province and validity interval, on the map
-- of 63 (until 30 June 2025) and the map of 34 (from 1 July 2025). Facts reference it by
-- province_key, since a code alone names two provinces across the merger.
with

lineage as (

    select * from {{ ref('int_provinces_lineage') }}

),

final as (

    select
        province_key,
        province_code,
        province_name,
        province_code_set,
        {{ label_columns('province_code_set', 'province_code_set') }},
        province_type,
        {{ label_columns('province_type', 'province_type') }},
        region_code,
        region_name,
        valid_from,
        valid_to,
        province_code_2025,
        province_name_2025,
        province_code_2025 || '@2025' as province_key_2025

    from lineage

)

select * from final
