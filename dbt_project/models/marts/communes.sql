-- The 3,321 commune-level units of the 34 provinces from 1 July 2025 (seed communes_2025, the
-- official list of Cục Thống kê, letter 1027/CTK-CSCL of 25 June 2025), with their province.
with

communes as (

    select * from {{ ref('communes_2025') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}
    where province_code_set = '2025'

),

final as (

    select
        communes.commune_code,
        communes.commune_name,
        communes.unit_type,
        case communes.unit_type
            when 'xa' then 'Xã'
            when 'phuong' then 'Phường'
            when 'dac_khu' then 'Đặc khu'
        end as unit_type_label_vi,
        case communes.unit_type
            when 'xa' then 'commune'
            when 'phuong' then 'ward'
            when 'dac_khu' then 'special zone'
        end as unit_type_label_en,
        communes.province_code_2025 as province_code,
        provinces.province_name,
        provinces.region_code,
        provinces.region_name,
        date '{{ var("province_merger_date") }}' as valid_from

    from communes
    left join provinces
        on provinces.province_code = communes.province_code_2025

)

select * from final
