-- Pages: the findings of the given files and every open finding (latest file of its period).
select finding_id, submission_id, province_code, province_name, period, period_start_date,
       period_end_date, source_file, version,
       outcome, is_open, severity, rule, sheet, excel_row, column_header, value, expected_vi,
       expected_en, message_vi, message_en
from marts.validation_findings
where is_open or submission_id = any(%(submission_ids)s)
order by submission_id, severity, sheet nulls first, excel_row nulls first, finding_id
