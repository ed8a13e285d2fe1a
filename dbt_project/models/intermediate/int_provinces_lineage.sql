-- Every province code in either code set, with its name and where it sits on today's map.
-- province_code_set '2024': the 63 codes used by periods up to 2025-6T;
-- province_code_set '2025': the 34 codes used from the 2025 annual period on.
with

provinces_2024 as (

    select * from {{ ref('provinces_2024') }}

),

merger as (

    select * from {{ ref('province_merger_2025') }}

),

old_codes as (

    select
        '2024' as province_code_set,
        provinces_2024.province_code,
        provinces_2024.province_name,
        coalesce(merger.new_code, provinces_2024.province_code) as province_code_2025,
        coalesce(merger.new_name, provinces_2024.province_name) as province_name_2025,
        provinces_2024.region_code,
        provinces_2024.region_name

    from provinces_2024
    left join merger
        on merger.old_code = provinces_2024.province_code

),

new_codes as (

    -- A new province keeps the code of the old one holding its centre; take its region from it.
    select distinct
        '2025' as province_code_set,
        merger.new_code as province_code,
        merger.new_name as province_name,
        merger.new_code as province_code_2025,
        merger.new_name as province_name_2025,
        centre.region_code,
        centre.region_name

    from merger
    left join provinces_2024 as centre
        on centre.province_code = merger.new_code

),

both_maps as (

    select * from old_codes
    union all
    select * from new_codes

),

final as (

    select
        -- Stable key: a code alone means two provinces (52 is Bình Định until 30 June 2025,
        -- Gia Lai after), the code with its code set one.
        province_code || '@' || province_code_set as province_key,
        province_code_set,
        province_code,
        province_name,
        province_code_2025,
        province_name_2025,
        region_code,
        region_name,
        case
            {%- for code_set, codes in var('centrally_run_cities').items() %}
            when province_code_set = '{{ code_set }}'
                and province_code in ('{{ codes | join("', '") }}') then 'thanh_pho'
            {%- endfor %}
            else 'tinh'
        end as province_type,
        case province_code_set
            when '2024' then date '{{ var("province_map_2024_from") }}'
            else date '{{ var("province_merger_date") }}'
        end as valid_from,
        case province_code_set
            when '2024' then date '{{ var("province_merger_date") }}' - 1
        end as valid_to

    from both_maps

)

select * from final
