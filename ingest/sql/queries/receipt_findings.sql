-- The validation findings of the given submissions, as they were recorded.
select submission_id, rule, severity, sheet, excel_row, column_header, value, expected_vi,
       expected_en, message_vi, message_en
from audit.validation_results
where submission_id = any(%(submission_ids)b::bigint[])
order by submission_id, result_id
