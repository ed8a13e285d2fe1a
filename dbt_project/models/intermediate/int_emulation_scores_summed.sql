-- One emulation score per province and year, from the current version of its annual report.
with

current_submissions as (

    select * from {{ ref('int_submissions_current') }}

),

criterion_scores as (

    select * from {{ ref('stg_raw__emulation_scores') }}

),

summed as (

    select
        submission_id,
        -- Cluster-reviewed points where given, else self-assessed (contract §7).
        sum(coalesce(reviewed_points, self_points)) as score,
        sum(self_points) as self_score,
        sum(max_points) as max_score,
        count(*) as criteria_count,
        count(reviewed_points) as criteria_reviewed

    from criterion_scores
    group by submission_id

),

final as (

    select
        current_submissions.period_year as year,
        {{ province_columns('current_submissions') }},
        {{ period_columns('current_submissions') }},
        summed.score,
        summed.self_score,
        summed.max_score,
        summed.criteria_count,
        summed.criteria_reviewed,
        current_submissions.submission_id,
        current_submissions.source_file,
        current_submissions.received_at as submitted_at

    from current_submissions
    inner join summed
        on summed.submission_id = current_submissions.submission_id
    where current_submissions.period_kind in {{ sheet_period_kinds('emulation_scores') }}

)

select * from final
