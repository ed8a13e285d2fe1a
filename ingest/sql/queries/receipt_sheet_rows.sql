-- Rows taken in per sheet of the given submissions (GiamNgheo: unit rows and total rows apart).
select submission_id, 'ChiTieu' as sheet, count(*) as data_rows, 0 as total_rows
from raw.term_indicators
where submission_id = any(%(submission_ids)b::bigint[])
  and (target_value is not null or actual_value is not null)  -- blank rows are no indicators
group by submission_id
union all
select submission_id, 'ThiDua', count(*), 0
from raw.emulation_scores
where submission_id = any(%(submission_ids)b::bigint[])
group by submission_id
union all
select submission_id, 'GiamNgheo', count(*) filter (where not is_total),
       count(*) filter (where is_total)
from raw.poverty_support
where submission_id = any(%(submission_ids)b::bigint[])
group by submission_id
