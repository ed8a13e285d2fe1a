-- The current version of each (province, period): the highest version among the files that
-- were loaded (not rejected). Earlier versions stay in raw and staging.
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
        {{ province_columns('provinces', code_from='ranked') }},
        ranked.term,
        {{ period_columns('periods') }},
        periods.period_year,
        ranked.version,
        ranked.outcome,
        ranked.warning_count,
        ranked.source_file,
        ranked.received_at,
        ranked.report_date

    from ranked
    inner join periods
        on periods.period = ranked.period
    left join provinces
        on provinces.province_code = ranked.province_code
        and provinces.province_code_set = periods.province_code_set
    where ranked.version_rank = 1

)

select * from final
