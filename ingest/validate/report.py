"""The report a clerk gets back (contract §3): UTF-8, Vietnamese first, English second.

One summary line on top (file, province, period, how many errors and warnings, what to do), then
one entry per problem naming the sheet, the row as Excel shows it, the column header, the value
found and what would be right. Rejected files get it beside them in the quarantine
(`<name>.errors.txt`); accepted files with warnings get it under `<home>/reports/<province>/`.
"""

from __future__ import annotations

from ingest.labels import outcome
from ingest.model import INFO_SHEET, Finding, ParsedFile
from ingest.periods import parse_period
from ingest.reference import province_name

_RULE = "=" * 72


def _order(f: Finding, info_sheet: str) -> tuple:
    """Errors first; whole-file problems, then ThongTin, then the data sheets, row by row."""
    return (f.severity != "error", f.sheet is not None, f.sheet != info_sheet, f.sheet or "",
            f.excel_row or 0, f.column or "")


def _province(parsed: ParsedFile) -> str:
    code = parsed.info.province_code or parsed.folder_province
    if not code:
        return "?"
    name = province_name(code, parse_period(parsed.info.period))
    return f"{code} {name}" if name else code


_TEXT = {
    "vi": {
        "title": "KẾT QUẢ KIỂM TRA BÁO CÁO",
        "file": "Tệp", "province": "Tỉnh", "period": "Kỳ báo cáo",
        "counts": "{e} lỗi, {w} cảnh báo",
        "todo_rejected": "Số liệu CHƯA được nhận. Hãy sửa các lỗi dưới đây rồi gửi lại tệp vào "
                         "thư mục {folder} của hộp thư.",
        "todo_warned": "Số liệu đã được nhận. Hãy xem các cảnh báo; nếu số liệu sai, gửi lại "
                       "tệp đã sửa (bản mới thay bản cũ).",
        "todo_ok": "Số liệu đã được nhận. Không cần làm gì thêm.",
        "errors": "LỖI (phải sửa):", "warnings": "CẢNH BÁO (nên kiểm tra):",
        "sheet": "Sheet", "row": "dòng", "column": "cột", "value": "giá trị",
        "empty": "(trống)", "expected": "Cần", "whole_file": "Toàn tệp",
        "short": ("hãy sửa lỗi rồi gửi lại", "hãy xem các cảnh báo", "không cần làm gì thêm"),
    },
    "en": {
        "title": "REPORT CHECK RESULT",
        "file": "File", "province": "Province", "period": "Period",
        "counts": "{e} error(s), {w} warning(s)",
        "todo_rejected": "The data was NOT taken in. Fix the errors below and drop the file "
                         "again into the inbox folder {folder}.",
        "todo_warned": "The data was taken in. Please review the warnings; if a figure is wrong, "
                       "send a corrected file (the new version replaces the old one).",
        "todo_ok": "The data was taken in. Nothing else to do.",
        "errors": "ERRORS (must be fixed):", "warnings": "WARNINGS (please check):",
        "sheet": "Sheet", "row": "row", "column": "column", "value": "value",
        "empty": "(empty)", "expected": "Expected", "whole_file": "Whole file",
        "short": ("fix the errors and send it again", "review the warnings", "nothing to do"),
    },
}


def outcome_text(code: str, lang: str) -> str:
    """An outcome as the report and the receipt print it: its label in capitals (BỊ TỪ CHỐI)."""
    entry = outcome(code)
    return (entry.vi if lang == "vi" else entry.en).upper()


def _summary(parsed: ParsedFile, lang: str) -> list[str]:
    t = _TEXT[lang]
    e, w = len(parsed.errors), len(parsed.warnings)
    verdict = outcome_text(parsed.outcome, lang)
    folder = f"{parsed.folder_province or parsed.info.province_code or '<mã tỉnh>'}/"
    todo = (t["todo_rejected"] if e else t["todo_warned"] if w else t["todo_ok"]).format(
        folder=folder)
    head = (f"{t['file']}: {parsed.source_file} | {t['province']}: {_province(parsed)} | "
            f"{t['period']}: {parsed.info.period or '?'} | {verdict}: "
            f"{t['counts'].format(e=e, w=w)} — {t['short'][0 if e else 1 if w else 2]}.")
    return [head, todo]


def _place_parts(f: Finding, lang: str) -> list[str]:
    t = _TEXT[lang]
    parts = []
    if f.sheet:
        parts.append(f"{t['sheet']} {f.sheet}")
    if f.excel_row:
        parts.append(f"{t['row']} {f.excel_row}")
    if f.column:
        parts.append(f"{t['column']} \"{f.column}\"")
    if f.value is not None:
        parts.append(f"{t['value']} \"{f.value}\"" if f.value != "" else
                     f"{t['value']} {t['empty']}")
    return parts


def _place(f: Finding, lang: str) -> str:
    parts = _place_parts(f, lang)
    return " | ".join(parts) if parts else _TEXT[lang]["whole_file"]


def finding_line(f: Finding, lang: str = "en") -> str:
    """One finding on one line, as a log shows it (the Airflow task log): the same place as
    the report's (sheet, row, column, value), then the message."""
    placed = ", ".join(_place_parts(f, lang))
    message = f.message_vi if lang == "vi" else f.message_en
    return (placed[:1].lower() + placed[1:] + ": " if placed else "") + message


def _lines(f: Finding, lang: str, number: int | None) -> list[str]:
    t = _TEXT[lang]
    head = f"{number:>3}. " if number is not None else ""
    indent = " " * len(head)
    message, expected = ((f.message_vi, f.expected_vi) if lang == "vi"
                         else (f.message_en, f.expected_en))
    lines = [f"{head}{_place(f, lang)}", f"{indent}{message}"]
    if expected:
        lines.append(f"{indent}{t['expected']}: {expected}")
    return lines


def finding_lines(f: Finding, number: int | None = None) -> tuple[list[str], list[str]]:
    """One finding as the report writes it: (Vietnamese lines, English lines). Each is the
    place (sheet | row | column | value), the message and what would be right; with `number`,
    the first line starts with it and the others are indented to match. Receipts quote
    findings with this too."""
    return _lines(f, "vi", number), _lines(f, "en", number)


def _entries(findings: list[Finding], lang: str) -> list[str]:
    t = _TEXT[lang]
    lines = []
    for severity, heading in (("error", t["errors"]), ("warning", t["warnings"])):
        chosen = [f for f in findings if f.severity == severity]
        if not chosen:
            continue
        lines += ["", heading]
        for n, f in enumerate(chosen, start=1):
            lines += finding_lines(f, n)[0 if lang == "vi" else 1]
    return lines


def render_findings(findings: list[Finding], lang: str, info_sheet: str = INFO_SHEET
                    ) -> list[str]:
    """The errors, then the warnings, in one language ("vi" or "en"), in the report's order and
    words: the body of a report, which the receipts quote."""
    return _entries(sorted(findings, key=lambda f: _order(f, info_sheet)), lang)


def render_report(parsed: ParsedFile) -> str:
    info_sheet = parsed.info.sheet_name
    vi, en = _summary(parsed, "vi"), _summary(parsed, "en")
    lines = [vi[0], en[0], "", _RULE, _TEXT["vi"]["title"], _RULE, *vi[1:]]
    lines += render_findings(parsed.findings, "vi", info_sheet)
    lines += ["", _RULE, _TEXT["en"]["title"], _RULE, *en[1:]]
    lines += render_findings(parsed.findings, "en", info_sheet)
    return "\n".join(lines) + "\n"
