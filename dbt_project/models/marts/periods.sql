-- Dimension of report periods (contract §4): every period the warehouse knows (int_periods),
-- with its kind, dates and due date. Facts reference it by period.
with

periods as (

    select * from {{ ref('int_periods') }}

),

final as (

    select
        period,
        period_kind,
        period_kind_label_vi,
        period_kind_label_en,
        period_year,
        period_start_date,
        period_end_date,
        due_date,
        province_code_set,
        is_scheduled

    from periods

)

select * from final
