"""From cell grids to a `ParsedFile`: find the tables, match headers, parse values.

Handles what offices really send (contract §2): title rows above the header, merged cells,
blank rows, total rows, notes and signature blocks under the table, extra columns and sheets.
Problems of form (missing sheet, missing column, a number that is not a number) become
`Finding`s here; the contract's rules on the values are checked later, in `ingest.validate.run`.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import numpy as np
import pandas as pd

from ingest.model import (
    EMULATION,
    INFO_SHEET,
    POVERTY,
    TERM,
    Finding,
    ParsedFile,
    ReportInfo,
    SheetData,
)
from ingest.periods import parse_period
from ingest.read import layout
from ingest.read.layout import SHEETS, Column, SheetLayout, fold
from ingest.read.numbers import parse_number, vn_number
from ingest.read.reader import CSV_DATA_SHEET, Sheet
from ingest.reference import indicators_of, match_commune

HEADER_SEARCH_ROWS = 40
_NOTE_PREFIXES = tuple(fold(p) for p in (
    "Ghi chú", "Lưu ý", "Người lập", "Người lập biểu", "Chủ tịch", "TM.", "Thủ trưởng", "Ký tên",
    "Xác nhận", "Nơi nhận", "Ngày", "Số liệu", "Nguồn",
))


# why a cell is not a number (`numbers.parse_number`), in the clerk's words
_NUMBER_ERRORS_VI = {
    "not a number": "chỉ được ghi chữ số, dấu chấm hàng nghìn, dấu phẩy thập phân",
    "not a finite number": "ô chứa lỗi công thức hoặc số vô hạn",
    "a date, not a number": "ô đang là ngày tháng, không phải số",
    "not a fraction a/b": "phân số phải có dạng a/b",
    "fraction with a zero denominator": "phân số có mẫu số 0",
}


def _cell_text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, float) and math.isfinite(cell):
        return vn_number(cell, decimals=6)  # a number cell quoted the Vietnamese way: 1250,5
    if isinstance(cell, datetime):
        return cell.strftime("%d/%m/%Y")
    if isinstance(cell, date):
        return cell.strftime("%d/%m/%Y")
    text = str(cell).strip()
    if "\x00" in text:  # `_x0000_` in the XML: PostgreSQL text cannot hold it; shown escaped
        text = text.replace("\x00", "\\x00")
    return text


def _fill_merged(sheet: Sheet) -> list[list[object]]:
    """Copy a merged range's value into its cells: a header merged over two lines counts on both.

    Only used to find the header; data rows are read as they are, so a note merged across the
    table is not copied into number columns."""
    rows = [list(r) for r in sheet.rows[:HEADER_SEARCH_ROWS]]
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                if rows[r][c] in ("", None):
                    rows[r][c] = value
    return rows


def _finding(rule, severity, vi, en, sheet=None, row=None, column=None, value=None,
             expected=(None, None)):
    """`expected`: (Vietnamese, English)."""
    return Finding(rule=rule, severity=severity, message_vi=vi, message_en=en, sheet=sheet,
                   excel_row=row, column=column, value=value, expected_vi=expected[0],
                   expected_en=expected[1])


# ---------------------------------------------------------------- ThongTin

def parse_info(sheet: Sheet, findings: list[Finding]) -> ReportInfo:
    info = ReportInfo(sheet_name=sheet.name)
    for i, row in enumerate(sheet.rows):
        cells = [(j, c) for j, c in enumerate(row) if _cell_text(c)]
        if not cells:
            continue
        j, label = cells[0]
        field = layout.INFO_KEYS.get(fold(label))
        if field is None or field in info.rows:
            continue
        value = next((c for _, c in cells[1:]), None)
        info.rows[field] = i + 1
        info.labels[field] = _cell_text(label)
        info.raw[field] = _cell_text(value)
        if field == "report_date":
            info.report_date = _parse_date(value)
            if value not in (None, "") and info.report_date is None:
                findings.append(_finding(
                    "bad_date", "error",
                    f"'Ngày lập' không phải ngày hợp lệ: '{_cell_text(value)}'.",
                    f"'Ngày lập' (report date) is not a valid date: '{_cell_text(value)}'.",
                    sheet.name, i + 1, _cell_text(label), _cell_text(value), ("dd/mm/yyyy",) * 2,
                ))
        elif field == "contact" and info.contact:
            info.contact = f"{info.contact}; {_cell_text(value)}"
        else:
            text = _cell_text(value) or None
            if field == "province_code" and text and text.isdigit():
                text = text.zfill(2)
            setattr(info, field, text)
    return info


def _parse_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if m:
        try:
            return date(int(m[3]), int(m[2]), int(m[1]))
        except ValueError:
            return None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- data sheets

def _find_header(rows: list[list[object]], sheet_layout: SheetLayout | None):
    """(row index, {column index: Column}, layout) of the best header row, or None."""
    best = None
    candidates = [sheet_layout] if sheet_layout else list(SHEETS.values())
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [(j, layout.header_key(cell)) for j, cell in enumerate(row)
                if isinstance(cell, str) and cell]
        if len(keys) < 2:
            continue
        for lay in candidates:
            mapping: dict[int, Column] = {}
            for j, key in keys:
                col = lay.by_key.get(key)
                if col and col not in mapping.values():
                    mapping[j] = col
            has_key = any(c.name == lay.key_column for c in mapping.values())
            if has_key and len(mapping) >= 2 and (best is None or len(mapping) > len(best[1])):
                best = (i, mapping, lay)
    return best


def _is_note(text: str) -> bool:
    key = fold(text)
    return key.startswith(_NOTE_PREFIXES) or text.startswith("*") or len(text) > 60


def parse_data_sheet(sheet: Sheet, kind: str | None, findings: list[Finding]) -> SheetData | None:
    header_rows = _fill_merged(sheet)  # merged header cells count for every cell they span
    found = _find_header(header_rows, SHEETS[kind] if kind else None)
    if found is None:
        key = SHEETS[kind].column(SHEETS[kind].key_column).label if kind else "Mã chỉ tiêu"
        findings.append(_finding(
            "missing_header", "error",
            f"Không tìm thấy dòng tiêu đề bảng (cần có cột '{key}').",
            f"No table header row found (a column '{key}' is needed).",
            sheet.name,
        ))
        return None
    header_index, mapping, lay = found
    headers = {col.name: _cell_text(header_rows[header_index][j]) for j, col in mapping.items()}
    rows = sheet.rows
    missing = [c for c in lay.columns if c.required and c.name not in headers]
    for col in missing:
        findings.append(_finding(
            "missing_column", "error",
            f"Thiếu cột bắt buộc '{col.label}'.",
            f"Required column '{col.label}' is missing.",
            sheet.name, header_index + 1, col.label, None, (col.label, col.label),
        ))
    if missing:
        return None

    key_j = next(j for j, c in mapping.items() if c.name == lay.key_column)
    value_js = [j for j, c in mapping.items() if c.kind not in ("text", "code")]
    columns = ["excel_row", *[c.name for c in lay.columns]] + (
        ["is_total"] if lay.kind == POVERTY else [])
    values: dict[str, list] = {c: [] for c in columns}  # column-wise: cheap frames
    texts: dict[str, list] = {c: [] for c in columns}  # the cells as written
    absent = [c.name for c in lay.columns if c.name not in headers]
    # ChiTieu: a row with neither a target nor a result is no indicator of the report (§2)
    figure_js = [j for j, c in mapping.items() if c.name in ("target_value", "actual_value")]
    skipped: list[tuple[int, str]] = []
    for i in range(header_index + 1, len(rows)):
        row = rows[i]
        cells = [_cell_text(c) for c in row]
        if not any(cells):
            continue
        key_text = cells[key_j] if key_j < len(cells) else ""
        first_text = next((c for c in cells if c), "")
        total = layout.is_total_label(key_text) or layout.is_total_label(first_text)
        has_values = any(j < len(cells) and cells[j] for j in value_js)
        if not key_text and not total:
            # figures without a key would be lost without a word: an error, placed at the key
            if not _is_note(first_text) and any(
                    j < len(row) and parse_number(row[j]).value is not None for j in value_js):
                key_label = headers[lay.key_column]
                findings.append(_finding(
                    "missing_key", "error",
                    f"Dòng có số liệu nhưng thiếu '{key_label}'.",
                    f"The row has figures but no '{key_label}'.",
                    sheet.name, i + 1, key_label, "",
                    (f"{key_label} của dòng này", f"this row's {key_label}"),
                ))
            continue  # a note in another column, a sub-header
        if not has_values and not total and _is_note(key_text):
            continue
        if total and lay.kind != POVERTY:
            continue  # totals of codes and points are not data
        if lay.kind == TERM and not any(j < len(cells) and cells[j] for j in figure_js):
            skipped.append((i + 1, re.sub(r"\s+", "", key_text).upper()))
            continue
        values["excel_row"].append(i + 1)
        texts["excel_row"].append(i + 1)
        for j, col in mapping.items():
            cell = row[j] if j < len(row) else None
            texts[col.name].append(cells[j] if j < len(cells) else "")
            values[col.name].append(
                _value(col, cell, headers[col.name], sheet.name, i + 1, findings))
        for name in absent:
            values[name].append(None)
            texts[name].append("")
        if lay.kind == POVERTY:
            values["is_total"].append(total)
            texts["is_total"].append(total)
            if total and not values["district_name"][-1]:
                values["district_name"][-1] = first_text

    if lay.kind == TERM:
        _normalise_results(values, texts)
    for col in lay.columns:
        if col.kind not in ("text", "code", "result"):
            values[col.name] = np.array(values[col.name], dtype="float64")  # None -> NaN
    frame = pd.DataFrame(values, columns=[*columns, *(["actual_text"] if lay.kind == TERM
                                                      else [])], copy=False)
    names = [c for c in texts if c != "excel_row"]
    as_written = {row: dict(zip(names, cells, strict=True)) for row, *cells in
                  zip(texts["excel_row"], *(texts[c] for c in names), strict=True)}
    return SheetData(lay.kind, sheet.name, frame, as_written, headers, skipped)


def _value(col: Column, cell: object, header: str, sheet: str, row: int, findings: list[Finding]):
    if isinstance(cell, str) and "\x00" in cell:
        findings.append(_finding(
            "control_character", "error",
            f"Ô có ký tự điều khiển NUL (_x0000_), không lưu được: '{_cell_text(cell)}'.",
            f"The cell holds a NUL control character (_x0000_), which cannot be stored: "
            f"'{_cell_text(cell)}'.",
            sheet, row, header, _cell_text(cell),
            ("văn bản không có ký tự điều khiển", "text without control characters"),
        ))
        if col.kind in ("text", "code"):
            return _cell_text(cell)  # escaped: the row is not lost, the error stands
        return None
    if col.kind == "code":
        text = _cell_text(cell)
        return re.sub(r"\s+", "", text).upper() or None
    if col.kind == "text":
        return _cell_text(cell) or None
    number = parse_number(cell)
    if number.error:
        findings.append(_finding(
            "not_a_number", "error",
            f"Giá trị '{_cell_text(cell)}' không phải là số "
            f"({_NUMBER_ERRORS_VI.get(number.error, 'không đọc được')}).",
            f"Value '{_cell_text(cell)}' is not a number ({number.error}).",
            sheet, row, header, _cell_text(cell),
            ("một số, ví dụ 1.284 hoặc 11,54", "a number such as 1.284 or 11,54"),
        ))
        return None
    if col.kind == "result":
        return number  # resolved per indicator in _normalise_results
    if number.value is None:
        return None
    if number.denominator is not None:
        findings.append(_finding(
            "unexpected_fraction", "error",
            f"Cột '{header}' không nhận phân số: '{_cell_text(cell)}'.",
            f"Column '{header}' does not take a fraction: '{_cell_text(cell)}'.",
            sheet, row, header, _cell_text(cell), ("một số", "a number"),
        ))
        return None
    if col.kind == "money":
        return number.value * layout.money_multiplier(header)
    return number.value


def _normalise_results(values: dict[str, list], texts: dict[str, list]) -> None:
    """Percents stored 0..100; a fraction a/b is a ÷ b × 100 for % indicators, else a (§7)."""
    catalogue = indicators_of("term")
    actual, target = [], []
    for code, number, tgt in zip(values["indicator_code"], values["actual_value"],
                                 values["target_value"], strict=True):
        is_percent = code in catalogue and catalogue[code].value_type == "percent"
        if number is None or number.value is None:
            actual.append(None)
        elif number.denominator is not None:
            actual.append(number.value / number.denominator * 100 if is_percent
                          else number.value)
        elif is_percent and number.numeric_cell and 0 < number.value <= 1:
            actual.append(number.value * 100)  # a cell formatted as % holds 0.71 for 71 %
        else:
            actual.append(number.value)
        if is_percent and tgt is not None and 0 < tgt <= 1:
            target.append(tgt * 100)
        else:
            target.append(tgt)
    values["actual_value"] = np.array(actual, dtype="float64")
    values["target_value"] = target
    values["actual_text"] = texts["actual_value"]
    texts["actual_text"] = texts["actual_value"]


# ---------------------------------------------------------------- the workbook

def parse_workbook(parsed: ParsedFile, sheets: list[Sheet]) -> ParsedFile:
    findings = parsed.findings
    info_sheet = None
    data_sheets: list[tuple[Sheet, str | None]] = []
    for sheet in sheets:
        kind = layout.sheet_kind(sheet.name)
        if kind == INFO_SHEET and info_sheet is None:
            info_sheet = sheet
        elif kind in SHEETS:
            data_sheets.append((sheet, kind))
        elif sheet.name == CSV_DATA_SHEET:
            data_sheets.append((sheet, None))
    if info_sheet is None:
        findings.append(_finding(
            "missing_info_sheet", "error",
            "Thiếu sheet 'ThongTin' (thông tin chung của báo cáo).",
            "Sheet 'ThongTin' (report information) is missing.",
            None, None, None, None, "ThongTin",
        ))
    else:
        parsed.info = parse_info(info_sheet, findings)
        for field, label in layout.REQUIRED_INFO.items():
            if getattr(parsed.info, field) or parsed.info.raw.get(field):
                continue  # present (a bad date was reported as such)
            findings.append(_finding(
                "missing_info_label", "error",
                f"Sheet ThongTin thiếu '{label}'.",
                f"Sheet ThongTin lacks '{label}'.",
                info_sheet.name, parsed.info.rows.get(field), label, None, label,
            ))
    for sheet, kind in data_sheets:
        data = parse_data_sheet(sheet, kind, findings)
        if data is None:
            continue
        if data.kind in parsed.sheets:
            findings.append(_finding(
                "duplicate_sheet", "error",
                f"Có hai sheet '{SHEETS[data.kind].sheet_name}': "
                f"'{parsed.sheets[data.kind].sheet_name}' và '{sheet.name}'.",
                f"Two '{SHEETS[data.kind].sheet_name}' sheets: "
                f"'{parsed.sheets[data.kind].sheet_name}' and '{sheet.name}'.",
                sheet.name,
            ))
            continue
        parsed.sheets[data.kind] = data
    if not data_sheets and info_sheet is not None:
        findings.append(_finding(
            "no_data_sheet", "error",
            "Tệp không có sheet số liệu nào (ChiTieu, ThiDua hoặc GiamNgheo).",
            "The file has no data sheet (ChiTieu, ThiDua or GiamNgheo).",
        ))
    uncomputed = [(sheet.name, sheet.uncomputed) for sheet, _ in data_sheets if sheet.uncomputed]
    for name, cells in uncomputed:
        shown = ", ".join(cells[:10]) + (f" … (+{len(cells) - 10})" if len(cells) > 10 else "")
        findings.append(_finding(
            "formula_not_computed", "error",
            f"Các ô công thức chưa được tính (không có giá trị): {shown}. Tệp có lẽ được tạo "
            "bằng một chương trình và chưa mở bằng Excel. Hãy mở tệp trong Excel hoặc "
            "LibreOffice, lưu lại rồi gửi lại.",
            f"Formula cells hold no computed value: {shown}. The file was probably written by "
            "a program and never opened in a spreadsheet. Open it in Excel or LibreOffice, "
            "save it and send it again.",
            name, None, None, None,
        ))
    if parsed.sheets and not uncomputed and not figures_in(parsed):
        findings.append(_finding(
            "no_figures", "error",
            "Báo cáo không có số liệu: mọi ô kết quả, điểm và số liệu giảm nghèo trong các sheet "
            f"{', '.join(d.sheet_name for d in parsed.sheets.values())} đều trống. Hãy điền số "
            "liệu rồi gửi lại (nếu đã gửi báo cáo kỳ này, bản trước vẫn được dùng).",
            "No data: every result, score and poverty-support cell in the sheets "
            f"{', '.join(d.sheet_name for d in parsed.sheets.values())} is empty. Fill in the "
            "figures and send it again (a report sent earlier for this period stays in use).",
        ))
    if POVERTY in parsed.sheets:
        parsed.sheets[POVERTY].frame["commune_code"] = commune_codes(parsed)
    return parsed


# The figures an office reports for the period (targets and the points scale are copied from
# the resolution and the catalogue, the template pre-fills them): a report with none is empty.
_FIGURES = {TERM: ("actual_value",), EMULATION: ("self_points", "reviewed_points")}


def figures_in(parsed: ParsedFile) -> set[str]:
    """The sheet kinds of `parsed` that hold at least one reported figure."""
    found = set()
    for kind, data in parsed.sheets.items():
        columns = _FIGURES.get(kind) or tuple(
            c.name for c in SHEETS[kind].columns if c.kind not in ("text", "code"))
        present = [c for c in columns if c in data.frame.columns]
        if present and data.frame[present].notna().to_numpy().any():
            found.add(kind)
    return found


def commune_codes(parsed: ParsedFile) -> list[str | None]:
    """The commune code of each GiamNgheo row (contract §2): from the 2025 annual report on, the
    commune of the declared province that the unit names; None for a unit that names none (the
    validation says why), for the total row and for the districts of earlier periods."""
    frame = parsed.sheets[POVERTY].frame
    period = parse_period(parsed.info.period) if parsed.info.period else None
    province = parsed.info.province_code
    if period is None or not period.uses_new_codes or not province:
        return [None] * len(frame)
    codes = []
    for name, is_total in zip(frame["district_name"], frame["is_total"], strict=True):
        found = match_commune(province, name) if name and not is_total else None
        codes.append(found.commune.code if found and found.commune else None)
    return codes
