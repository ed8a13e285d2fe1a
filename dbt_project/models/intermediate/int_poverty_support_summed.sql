-- District rows summed per current annual or half-year report. The total row as written is
-- ignored (the ingest warns when it disagrees); sum() skips empty cells and is NULL only when
-- every district left the cell empty (contract §7).
with

current_submissions as (

    select * from {{ ref('int_submissions_current') }}

),

poverty_rows as (

    select * from {{ ref('stg_raw__poverty_support') }}

),

district_sums as (

    select
        submission_id,
        count(*) as districts_reported,
        {{ poverty_measure_sums() }}

    from poverty_rows
    where not is_total
    group by submission_id

),

final as (

    select
        {{ province_columns('current_submissions') }},
        {{ period_columns('current_submissions') }},
        current_submissions.period_year,
        district_sums.*,
        current_submissions.source_file,
        current_submissions.received_at as submitted_at

    from current_submissions
    inner join district_sums
        on district_sums.submission_id = current_submissions.submission_id
    where current_submissions.period_kind in {{ sheet_period_kinds('poverty_support') }}

)

select * from final
