-- Period dates as contract §4 and §7 state them, checked on every period the warehouse knows:
-- a period lies within the year it names and starts on 1 January; it ends 30 June (half-year)
-- or 31 December (annual, and GK/TK reviews for the province-code rule); it uses the 63 codes
-- exactly when it ends before 1 July 2025. Returns the periods that break one of these.
with

periods as (

    select * from {{ ref('int_periods') }}

)

select *
from periods
where period_start_date <> make_date(period_year, 1, 1)
    or period_end_date < period_start_date
    or extract(year from period_end_date) <> period_year
    or (period_kind = 'half_year') <> (to_char(period_end_date, 'MM-DD') = '06-30')
    or (period_kind <> 'half_year') <> (to_char(period_end_date, 'MM-DD') = '12-31')
    or (province_code_set = '2024')
        <> (period_end_date < date '{{ var("province_merger_date") }}')
