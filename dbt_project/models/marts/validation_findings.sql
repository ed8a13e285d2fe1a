-- Every validation finding of every file, with the file's province, period and version: what
-- the validation page and the province pages show, read by BI like any mart. is_open: the
-- finding belongs to the latest file of its (province, period), so the sender still has to act
-- on it (an error of a rejected file not yet followed by a new one, or a warning of it).
with

findings as (

    select * from {{ ref('stg_audit__validation_results') }}

),

versions as (

    select * from {{ ref('submission_versions') }}

),

final as (

    select
        findings.finding_id,
        findings.submission_id,
        versions.province_key,
        versions.province_code,
        versions.province_name,
        versions.province_code_2025,
        versions.province_name_2025,
        versions.region_code,
        versions.region_name,
        {{ period_columns('versions') }},
        versions.period_year,
        versions.source_file,
        versions.received_at,
        versions.version,
        versions.outcome,
        versions.outcome_label_vi,
        versions.outcome_label_en,
        versions.is_latest_file as is_open,
        findings.severity,
        {{ label_columns('severity', 'severity', 'findings') }},
        findings.rule,
        findings.sheet,
        findings.excel_row,
        findings.column_header,
        findings.value,
        findings.expected_vi,
        findings.expected_en,
        findings.message_vi,
        findings.message_en

    from findings
    inner join versions
        on versions.submission_id = findings.submission_id

)

select * from final
