-- Every scorecard counts exactly the attainment rows of its report, the met count and the label
-- agree with their statuses, and met, not met and not reported are apart and add up to the total
-- (a not-reported indicator is never inside the not-met count). Returns the scorecards that
-- disagree.
with

attainment as (

    select * from {{ ref('term_indicator_attainment') }}

),

scorecard as (

    select * from {{ ref('term_scorecard') }}

),

counted as (

    select
        province_code,
        term,
        period,
        count(*) as attainment_rows,
        count(*) filter (where status in ('vuot', 'dat')) as attainment_met

    from attainment
    group by province_code, term, period

)

select
    coalesce(scorecard.province_code, counted.province_code) as province_code,
    coalesce(scorecard.period, counted.period) as period,
    scorecard.indicators_total,
    counted.attainment_rows,
    scorecard.indicators_met,
    counted.attainment_met,
    scorecard.indicators_not_met,
    scorecard.indicators_not_reported,
    scorecard.scorecard_label

from scorecard
full outer join counted
    on counted.province_code = scorecard.province_code
    and counted.term is not distinct from scorecard.term
    and counted.period = scorecard.period
where scorecard.indicators_total is distinct from counted.attainment_rows
    or scorecard.indicators_met is distinct from counted.attainment_met
    or scorecard.scorecard_label
        is distinct from counted.attainment_met || '/' || counted.attainment_rows
    or scorecard.indicators_met + scorecard.indicators_not_met
        + scorecard.indicators_not_reported <> scorecard.indicators_total
