-- Term indicators of the current version of each report, judged against their term target.
with

current_submissions as (

    select * from {{ ref('int_submissions_current') }}

),

indicator_values as (

    select * from {{ ref('stg_raw__term_indicators') }}

),

indicators as (

    select * from {{ ref('indicators') }}
    where kind = 'term'

),

joined as (

    select
        {{ province_columns('current_submissions') }},
        current_submissions.term,
        {{ period_columns('current_submissions') }},
        indicator_values.indicator_code,
        coalesce(indicators.name_vi, indicator_values.indicator_text) as indicator_name,
        indicators.name_en as indicator_name_en,
        coalesce(indicators.unit, indicator_values.unit_text) as unit,
        indicators.value_type,
        coalesce(indicators.direction, 'higher') as direction,
        indicator_values.target_value,
        indicator_values.actual_value,
        indicator_values.actual_text,
        current_submissions.version,
        current_submissions.submission_id,
        current_submissions.source_file,
        current_submissions.received_at as submitted_at

    from indicator_values
    inner join current_submissions
        on current_submissions.submission_id = indicator_values.submission_id
    left join indicators
        on indicators.code = indicator_values.indicator_code

),

judged as (

    select
        *,
        -- Contract §7: a percentage of the target for `higher` indicators only.
        case
            when direction = 'higher' and target_value <> 0
                then round(actual_value / target_value * 100, 2)
        end as attainment_pct,
        -- `lower` is the mirror image of `higher`. A target with no result is chua_bao_cao
        -- (not reported yet, §2): counted in the scorecard's total, never as chua_dat.
        case
            when actual_value is null then 'chua_bao_cao'
            when direction = 'lower' then
                case
                    when actual_value < target_value then 'vuot'
                    when actual_value = target_value then 'dat'
                    else 'chua_dat'
                end
            else
                case
                    when actual_value > target_value then 'vuot'
                    when actual_value = target_value then 'dat'
                    else 'chua_dat'
                end
        end as status,
        actual_value is not null as is_reported

    from joined

),

final as (

    select
        {{ province_columns() }},
        term,
        {{ period_columns() }},
        indicator_code,
        indicator_name,
        indicator_name_en,
        unit,
        value_type,
        direction,
        target_value,
        actual_value,
        actual_text,
        attainment_pct,
        status,
        is_reported,
        version,
        submission_id,
        source_file,
        submitted_at

    from judged

)

select * from final
