"""The report a clerk gets back: Vietnamese first, English second (contract §3)."""

from __future__ import annotations

from ingest.model import Finding, ParsedFile


def _place(f: Finding, lang: str) -> str:
    parts = []
    if f.sheet:
        parts.append(f"Sheet {f.sheet}")
    if f.excel_row:
        parts.append(("dòng " if lang == "vi" else "row ") + str(f.excel_row))
    if f.column:
        parts.append(("cột " if lang == "vi" else "column ") + f"'{f.column}'")
    return ", ".join(parts)


def render_report(parsed: ParsedFile) -> str:
    errors, warnings = parsed.errors, parsed.warnings
    lines = []
    if errors:
        lines.append(f"TỆP BỊ TỪ CHỐI: {parsed.source_file} — {len(errors)} lỗi, "
                     f"{len(warnings)} cảnh báo. Hãy sửa các lỗi dưới đây rồi gửi lại tệp.")
    else:
        lines.append(f"TỆP ĐÃ ĐƯỢC NHẬN: {parsed.source_file} — {len(warnings)} cảnh báo.")
    for f in parsed.findings:
        label = "LỖI" if f.severity == "error" else "CẢNH BÁO"
        place = _place(f, "vi")
        lines.append(f"- [{label}] {place + ': ' if place else ''}{f.message_vi}")
    lines.append("")
    if errors:
        lines.append(f"FILE REJECTED: {parsed.source_file} — {len(errors)} error(s), "
                     f"{len(warnings)} warning(s). Fix the errors below and send the file again.")
    else:
        lines.append(f"FILE ACCEPTED: {parsed.source_file} — {len(warnings)} warning(s).")
    for f in parsed.findings:
        label = "ERROR" if f.severity == "error" else "WARNING"
        place = _place(f, "en")
        lines.append(f"- [{label}] {place + ': ' if place else ''}{f.message_en}")
    return "\n".join(lines) + "\n"
