-- The current version of each (province, period): the highest version among the files that
-- were loaded (not rejected). Earlier versions stay in raw and staging.
with

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

loaded as (

    select * from submissions
    where is_loaded and period is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by province_code, period
            order by version desc nulls last, received_at desc, submission_id desc
        ) as version_rank

    from loaded

),

final as (

    select
        ranked.submission_id,
        ranked.province_code,
        provinces.province_name,
        provinces.province_code_2025,
        provinces.province_name_2025,
        provinces.region_code,
        provinces.region_name,
        ranked.term,
        ranked.period,
        ranked.period_kind,
        ranked.period_year,
        ranked.period_end_date,
        ranked.version,
        ranked.outcome,
        ranked.warning_count,
        ranked.source_file,
        ranked.received_at,
        ranked.report_date

    from ranked
    left join provinces
        on provinces.province_code = ranked.province_code
        and provinces.province_code_set = ranked.province_code_set
    where ranked.version_rank = 1

)

select * from final
