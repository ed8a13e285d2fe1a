-- Which reports arrived, when, and in what state, for every expected (province, period), judged
-- against today (var today, contract §7).
-- status: the outcome of the current (highest loaded) version when one exists, so it describes
-- what the other marts hold; 'rejected' when only rejected files arrived; with nothing received,
-- 'missing' once the due date has passed and 'not_due' before it.
-- on_time: the first file (of any outcome) was received, as a Vietnam date, on or before the due
-- date; NULL for reviews, for a backfill of history, and while nothing came and it is not due.
-- latest_file_outcome keeps the outcome of the most recent file for follow-up with the sender.
with

expected as (

    select * from {{ ref('int_submission_periods_expected') }}

),

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

current_submissions as (

    select * from {{ ref('int_submissions_current') }}

),

provinces as (

    select * from {{ ref('int_provinces_lineage') }}

),

files as (

    select
        province_code,
        period,
        count(*) as files_received,
        count(*) filter (where not is_loaded) as files_rejected,
        min(received_at) as first_received_at,
        max(received_at) as latest_received_at,
        min(received_at) filter (where is_loaded) as first_loaded_at,
        max(version) as latest_version,
        -- the first file decides: was it part of a backfill of history?
        (array_agg(is_backfill order by received_at, submission_id))[1] as first_is_backfill

    from submissions
    where period is not null
    group by province_code, period

),

latest_files as (

    select distinct on (province_code, period)
        province_code,
        period,
        outcome as latest_file_outcome

    from submissions
    where period is not null
    order by province_code, period, received_at desc, submission_id desc

),

joined as (

    select
        {{ province_columns('provinces', code_from='expected') }},
        {{ period_columns('expected') }},
        expected.period_year,
        expected.is_scheduled,
        expected.due_date,
        coalesce(files.files_received, 0) > 0 as received,
        coalesce(files.files_received, 0) as files_received,
        coalesce(files.files_rejected, 0) as files_rejected,
        files.first_received_at,
        files.latest_received_at,
        files.first_loaded_at,
        files.latest_version,
        coalesce(files.first_is_backfill, false) as is_backfill,
        current_submissions.outcome as current_outcome,
        latest_files.latest_file_outcome

    from expected
    left join provinces
        on provinces.province_code = expected.province_code
        and provinces.province_code_set = expected.province_code_set
    left join files
        on files.province_code = expected.province_code
        and files.period = expected.period
    left join latest_files
        on latest_files.province_code = expected.province_code
        and latest_files.period = expected.period
    left join current_submissions
        on current_submissions.province_code = expected.province_code
        and current_submissions.period = expected.period

),

judged as (

    select
        *,
        case
            when current_outcome is not null then current_outcome
            when received then 'rejected'
            when due_date is not null and today <= due_date then 'not_due'
            else 'missing'
        end as status,
        -- judged on the first file received, as a Vietnam date (var local_time_zone). Nothing received yet:
        -- late once the due date has passed, undecided (NULL) before it.
        case
            when due_date is null or is_backfill then null
            when first_received_at is not null
                then {{ local_date('first_received_at') }} <= due_date
            when today > due_date then false
        end as on_time

    from joined
    cross join (select {{ calendar_today() }} as today) as calendar

),

final as (

    select
        {{ province_columns() }},
        {{ period_columns() }},
        period_year,
        is_scheduled,
        received,
        files_received,
        files_rejected,
        first_received_at,
        latest_received_at,
        latest_version,
        is_backfill,
        status,
        latest_file_outcome,
        due_date,
        on_time,
        case
            when on_time is false and first_received_at is not null
                then {{ local_date('first_received_at') }} - due_date
            when on_time is false then today - due_date
            when on_time then 0
        end as days_late,
        today as status_date

    from judged

),

labelled as (

    select
        *,
        {{ label_columns('status', 'submission_status') }},
        {{ label_columns('latest_file_outcome', 'submission_status') }}

    from final

)

select * from labelled
