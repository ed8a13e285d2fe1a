-- One row per file received. Personal columns (prepared_by, contact) stop here; the period's
-- kind and dates come from int_periods.
with

source as (

    select * from {{ source('raw', 'submissions') }}

),

term_labels as (

    select * from {{ ref('term_labels') }}

),

renamed as (

    select
        submission_id,
        sha256,
        -- a name that starts like a spreadsheet formula (= + - @ tab CR) gets a leading
        -- apostrophe: the marts quote it, and an analyst's export to Excel must not run it
        case
            when source_file ~ '^[-=+@\t\r]' then '''' || source_file
            else source_file
        end as source_file,
        trim(province_code) as province_code,
        archive_path,
        size_bytes::bigint as size_bytes,
        -- when the warehouse first saw the settled file (audit.inbox_seen), never its mtime
        received_at,
        file_modified_at,
        is_backfill,
        processed_at,
        declared_province_code,
        province_name as declared_province_name,
        nullif(trim(period), '') as period,
        nullif(trim(term), '') as term_as_written,
        report_date,
        -- text, not text[]: dbt unit tests cannot mock array columns
        array_to_string(sheets, ',') as sheets,
        outcome,
        status as lifecycle_status,
        is_current,
        version,
        error_count,
        warning_count

    from source

),

categorised as (

    select
        renamed.*,
        -- one label per term (contract §1): 2021-2025 is 2021-2026, closed early by the reform
        coalesce(term_labels.term, renamed.term_as_written) as term,
        outcome <> 'rejected' as is_loaded,
        {{ local_date('received_at') }} as received_on

    from renamed
    left join term_labels
        on term_labels.label = renamed.term_as_written

)

select * from categorised
