-- One received file. An accepted file gets the next version of its (province, period); the
-- caller holds the advisory lock of that pair, so two runs cannot take the same number.
insert into raw.submissions (
    sha256, source_file, province_code, archive_path, size_bytes, received_at,
    declared_province_code, province_name, period, term, report_date, prepared_by, contact,
    sheets, outcome, status, version, error_count, warning_count
)
values (
    %(sha256)s, %(source_file)s, %(province_code)s, %(archive_path)s, %(size_bytes)s,
    %(received_at)s, %(declared_province_code)s, %(province_name)s, %(period)s, %(term)s,
    %(report_date)s, %(prepared_by)s, %(contact)s, %(sheets)s, %(outcome)s, %(outcome)s,
    case when %(outcome)s <> 'rejected' then (
        select coalesce(max(version), 0) + 1
        from raw.submissions
        where province_code = %(province_code)s and period = %(period)s
    ) end,
    %(error_count)s, %(warning_count)s
)
on conflict (sha256) do nothing
returning submission_id, version
