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
    -- A row with neither a target nor a result is no indicator of the report (contract §2).
    -- The reader no longer loads such rows (raw.skipped_indicator_rows keeps them for the
    -- receipt); this keeps the reports loaded before it from counting them.
    where target_value is not null or actual_value is not null

)

select * from renamed
