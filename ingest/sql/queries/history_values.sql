-- The provinces' own history for the outlier rule (contract §3): every value of the current
-- version of each (province, period). GiamNgheo: the sum of the district rows of each measure;
-- ChiTieu: each indicator's cumulative result.
-- Columns: province_code, period, kind, measure, value.
with current_version as (

    select submission_id, province_code, period
    from raw.submissions
    where is_current and province_code = any(%(provinces)s)

),

poverty_cells as (

    select c.province_code, c.period, cell.measure, cell.value
    from current_version as c
    inner join raw.poverty_support as p using (submission_id)
    cross join lateral (values
        ('poor_households_start', p.poor_households_start),
        ('female_headed_poor', p.female_headed_poor),
        ('households_out_of_poverty', p.households_out_of_poverty),
        ('households_out_of_near_poverty', p.households_out_of_near_poverty),
        ('female_headed_out_of_poverty', p.female_headed_out_of_poverty),
        ('charity_homes', p.charity_homes),
        ('charity_homes_vnd', p.charity_homes_vnd),
        ('policy_loan_households', p.policy_loan_households),
        ('policy_loan_outstanding_vnd', p.policy_loan_outstanding_vnd),
        ('livelihood_packages', p.livelihood_packages),
        ('five_no_three_clean_households', p.five_no_three_clean_households)
    ) as cell (measure, value)
    where not p.is_total

)

select province_code, period, 'poverty_support' as kind, measure, sum(value)::float8 as value
from poverty_cells
group by province_code, period, measure
having count(value) > 0

union all

select c.province_code, c.period, 'term_indicators', t.indicator_code, t.actual_value::float8
from current_version as c
inner join raw.term_indicators as t using (submission_id)
where t.actual_value is not null
