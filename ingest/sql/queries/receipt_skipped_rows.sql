-- ChiTieu rows of the given submissions that were no indicator of the report (a code with
-- neither a target nor a result, contract §2), in workbook order: those the reader skipped, and
-- those loaded before it skipped them (the marts leave them out the same way).
select submission_id, excel_row, indicator_code
from raw.skipped_indicator_rows
where submission_id = any(%(submission_ids)b::bigint[])
union all
select submission_id, excel_row, indicator_code
from raw.term_indicators
where submission_id = any(%(submission_ids)b::bigint[])
  and target_value is null
  and actual_value is null
order by submission_id, excel_row
