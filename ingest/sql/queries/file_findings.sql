-- The findings of some submissions, errors before warnings, in workbook order (for the log of
-- the Airflow task that processed them).
select
    submission_id,
    severity,
    rule,
    sheet,
    excel_row,
    column_header,
    value,
    message_en
from audit.validation_results
where submission_id = any(%(submission_ids)s)
order by submission_id, severity, sheet nulls first, excel_row nulls first, result_id
