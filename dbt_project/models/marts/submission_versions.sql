-- Every file received, accepted or not, with its version and what became of it: the history a
-- province page lists. No personal data (prepared_by, contact stop in staging) and no archive
-- paths. is_latest_file marks the file a sender still has to act on: the most recent file for
-- its (province, period), or, for a file whose period could not be read, a file after which the
-- province sent nothing.
with

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

current_submissions as (

    select * from {{ ref('int_submissions_current') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

ordered as (

    select
        *,
        row_number() over (
            partition by province_code, period
            order by received_at desc, submission_id desc
        ) as recency_in_period,
        max(received_at) over (partition by province_code) as province_latest_received_at

    from submissions

),

joined as (

    select
        ordered.submission_id,
        ordered.province_code,
        coalesce(provinces.province_name, ordered.declared_province_name) as province_name,
        provinces.province_code_2025,
        provinces.province_name_2025,
        provinces.region_code,
        provinces.region_name,
        ordered.period,
        periods.period_kind,
        periods.period_start_date,
        periods.period_end_date,
        periods.period_year,
        ordered.term,
        ordered.source_file,
        ordered.received_at,
        ordered.file_modified_at,
        ordered.report_date,
        ordered.sheets,
        ordered.version,
        ordered.outcome,
        ordered.lifecycle_status,
        current_submissions.submission_id is not null as is_current,
        case
            when ordered.period is not null then ordered.recency_in_period = 1
            else ordered.received_at = ordered.province_latest_received_at
        end as is_latest_file,
        ordered.error_count,
        ordered.warning_count,
        -- this file's own timing against the period's due date (a Vietnam date, contract §7)
        periods.due_date,
        ordered.is_backfill,
        case
            when periods.due_date is null or ordered.is_backfill then null
            else ordered.received_on <= periods.due_date
        end as on_time,
        case
            when periods.due_date is null or ordered.is_backfill then null
            else greatest(ordered.received_on - periods.due_date, 0)
        end as days_late

    from ordered
    left join periods
        on periods.period = ordered.period
    left join provinces
        on provinces.province_code = ordered.province_code
        and provinces.province_code_set = periods.province_code_set
    left join current_submissions
        on current_submissions.submission_id = ordered.submission_id

),

final as (

    select * from joined

)

select * from final
