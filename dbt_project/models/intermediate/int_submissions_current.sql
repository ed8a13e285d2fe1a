-- The current version of each (province, period), as the loader decided it: the loaded file
-- that no later version superseded (raw.submissions.is_current). Nothing is re-ranked here.
-- Earlier versions stay in raw and staging.
with

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

periods as (

    select * from {{ ref('int_periods') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

current_versions as (

    select * from submissions
    where is_current and period is not null

),

final as (

    select
        current_versions.submission_id,
        {{ province_columns('provinces', code_from='current_versions') }},
        current_versions.term,
        {{ period_columns('periods') }},
        periods.period_year,
        current_versions.version,
        current_versions.outcome,
        current_versions.warning_count,
        current_versions.source_file,
        current_versions.received_at,
        current_versions.report_date

    from current_versions
    inner join periods
        on periods.period = current_versions.period
    left join provinces
        on provinces.province_code = current_versions.province_code
        and provinces.province_code_set = periods.province_code_set

)

select * from final
