-- One row per reporting round (contract §9): each annual and half-year period of the calendar,
-- with what its expected provinces have sent, counted from submission_status (the provinces of
-- the map in force when the period ends). is_open and reminder_stage decide, against today,
-- which rounds the dashboard, `lhpn status --round` and the reminders show; nothing is summed
-- again outside this model.
with

status as (

    select * from {{ ref('submission_status') }}
    where is_scheduled
      and period_kind in ('annual', 'half_year')

),

counted as (

    select
        period,
        period_kind,
        period_year,
        period_start_date,
        period_end_date,
        due_date,
        max(status_date) as status_date,
        count(*) as provinces_expected,
        count(*) filter (where received) as received,
        count(*) filter (
            where status in ('accepted', 'accepted_with_warnings')
        ) as accepted,
        count(*) filter (where status = 'accepted_with_warnings') as accepted_with_warnings,
        count(*) filter (where status = 'rejected') as rejected,
        count(*) filter (where status = 'missing') as missing,
        count(*) filter (where status = 'not_due') as not_due,
        count(*) filter (where on_time is false) as late,
        count(*) filter (where on_time) as on_time

    from status
    group by period, period_kind, period_year, period_start_date, period_end_date, due_date

),

staged as (

    select
        *,
        due_date - status_date as days_to_due,
        status_date between period_start_date
            and due_date + {{ var('round_open_days_after_due') }} as is_open,
        -- the reminder notices of §9: 14 and 3 days before the due date, the day after it
        case
            when status_date > due_date + {{ var('round_open_days_after_due') }} then null
            when status_date >= due_date + 1 then 'T+1'
            when status_date >= due_date - 3 then 'T-3'
            when status_date >= due_date - 14 then 'T-14'
        end as reminder_stage,
        case
            when status_date > due_date + {{ var('round_open_days_after_due') }} then null
            when status_date >= due_date + 1 then due_date + 1
            when status_date >= due_date - 3 then due_date - 3
            when status_date >= due_date - 14 then due_date - 14
        end as reminder_stage_date

    from counted

),

final as (

    select
        period,
        period_kind,
        period_year,
        period_start_date,
        period_end_date,
        due_date,
        status_date,
        days_to_due,
        is_open,
        -- the round leaders quote (the dashboard headline): the open round due first
        coalesce(
            is_open and due_date = min(due_date) filter (where is_open) over (),
            false
        ) as is_current,
        reminder_stage,
        reminder_stage_date,
        provinces_expected,
        received,
        accepted,
        accepted_with_warnings,
        rejected,
        missing,
        not_due,
        late,
        on_time

    from staged

)

select * from final
