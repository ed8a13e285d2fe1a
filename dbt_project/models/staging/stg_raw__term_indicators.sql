with

source as (

    select * from {{ source('raw', 'term_indicators') }}

),

renamed as (

    select
        submission_id,
        excel_row,
        upper(trim(indicator_code)) as indicator_code,
        indicator_text,
        unit_text,
        target_value::numeric as target_value,
        actual_value::numeric as actual_value,
        actual_text,
        note

    from source

)

select * from renamed
