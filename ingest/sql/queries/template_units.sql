-- lhpn template: the units (districts, or communes and wards from 2025) of the GiamNgheo sheet in
-- the current versions of these provinces' reports, per period, in the order they were written
-- (the caller keeps the latest period of the same province codes), with the commune each unit
-- was matched to (from the 2025 annual report on).
select s.province_code, s.period, p.district_name, p.commune_code
from raw.submissions as s
inner join raw.poverty_support as p on p.submission_id = s.submission_id
where s.is_current  -- loaded and not superseded (migration 002)
  and s.province_code = any(%(province_codes)s::text[])
  and not p.is_total
order by s.province_code, s.period, p.excel_row
