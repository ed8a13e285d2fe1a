-- One row per validation finding, as the ingest recorded it.
with

source as (

    select * from {{ source('audit', 'validation_results') }}

),

renamed as (

    select
        result_id as finding_id,
        submission_id,
        severity,
        rule,
        sheet,
        excel_row,
        column_header,
        value,
        expected_vi,
        expected_en,
        message_vi,
        message_en,
        created_at

    from source

)

select * from renamed
