-- Which sheets of the current version of each (province, period) hold figures the office
-- reported (results, points, poverty-support measures; not targets or the points scale): a new
-- version without them would replace figures with NULLs (rule drops_figures).
select
    s.province_code,
    s.period,
    s.version,
    exists (
        select 1 from raw.term_indicators as t
        where t.submission_id = s.submission_id and t.actual_value is not null
    ) as term_indicators,
    exists (
        select 1 from raw.emulation_scores as e
        where e.submission_id = s.submission_id
          and (e.self_points is not null or e.reviewed_points is not null)
    ) as emulation_scores,
    exists (
        select 1 from raw.poverty_support as p
        where p.submission_id = s.submission_id
          and num_nonnulls(p.poor_households_start, p.female_headed_poor,
                           p.households_out_of_poverty, p.households_out_of_near_poverty,
                           p.female_headed_out_of_poverty, p.charity_homes, p.charity_homes_vnd,
                           p.policy_loan_households, p.policy_loan_outstanding_vnd,
                           p.livelihood_packages, p.five_no_three_clean_households) > 0
    ) as poverty_support
from raw.submissions as s
join unnest(%(province_code)s::text[], %(period)s::text[]) as wanted (province_code, period)
    on s.province_code = wanted.province_code and s.period = wanted.period
where s.is_current
