"""From cell grids to a `ParsedFile`: find the tables, match headers, parse values.

Handles what offices really send (contract §2): title rows above the header, merged cells,
blank rows, total rows, notes and signature blocks under the table, extra columns and sheets.
Problems of form (missing sheet, missing column, a number that is not a number) become
`Finding`s here; the contract's rules on the values are checked later, in `ingest.validate.run`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache

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
from ingest.read.layout import _header_key as header_key  # of a non-empty text, cached
from ingest.read.numbers import Number, common_figure, parse_number, vn_number
from ingest.read.reader import CSV_DATA_SHEET, Sheet
from ingest.reference import indicators_of, match_commune

HEADER_SEARCH_ROWS = 40
_SPACES = re.compile(r"\s+")
_DIGITS = frozenset("0123456789")
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
    if cell.__class__ is str:  # most cells: the text as written, trimmed
        return cell.strip().replace("\x00", "\\x00") if "\x00" in cell else cell.strip()
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
    # a row that maps every column of the widest layout cannot be beaten (a later row must map
    # more): the search ends there instead of reading the rows below the header
    most = max(len(lay.columns) for lay in candidates)
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if best is not None and len(best[1]) == most:
            break
        # a header starts with a letter: a cell starting with a digit (a figure) never matches
        keys = [(j, header_key(cell)) for j, cell in enumerate(row)
                if cell.__class__ is str and cell and cell[0] not in _DIGITS]
        if len(keys) < 2:
            continue
        for lay in candidates:
            mapping: dict[int, Column] = {}
            used: set[str] = set()  # a layout's columns, by their (unique) names
            by_key = lay.by_key
            for j, key in keys:
                col = by_key.get(key)
                if col is not None and col.name not in used:
                    mapping[j] = col
                    used.add(col.name)
            has_key = lay.key_column in used
            if has_key and len(mapping) >= 2 and (best is None or len(mapping) > len(best[1])):
                best = (i, mapping, lay)
    return best


def _is_note(text: str) -> bool:
    key = fold(text)
    return key.startswith(_NOTE_PREFIXES) or text.startswith("*") or len(text) > 60


@lru_cache(maxsize=1 << 16)  # the same keys, numbers and labels come back in every report
def _label(text: str) -> tuple[bool, bool]:
    """(a total row's label, a note) for the text of a row's first or key cell."""
    return layout.is_total_label(text), _is_note(text)


def parse_data_sheet(sheet: Sheet, kind: str | None, findings: list[Finding]) -> SheetData | None:
    """One data sheet: the header found among the first rows, then the rows kept (keys, totals,
    notes and blank rows decided row by row) read column by column."""
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
    # ChiTieu: a row with neither a target nor a result is no indicator of the report (§2)
    figure_js = [j for j, c in mapping.items() if c.name in ("target_value", "actual_value")]
    poverty = lay.kind == POVERTY
    skipped: list[tuple[int, str]] = []
    placed: list[tuple[int, int, Finding]] = []  # (row, column position, finding): row order
    kept: list[list[object]] = []  # the data rows, as read
    excel_rows: list[int] = []
    totals: list[bool] = []
    firsts: list[str] = []  # the first text of each kept row (a total row's unit)
    for i in range(header_index + 1, len(rows)):
        row = rows[i]
        first_text = ""
        for cell in row:
            if cell is None or (cell.__class__ is str and not cell.strip()):
                continue
            first_text = _cell_text(cell)
            break
        if not first_text:
            continue  # a blank row
        width = len(row)
        key_text = _cell_text(row[key_j]) if key_j < width else ""
        key_total, key_note = _label(key_text)
        total = key_total or _label(first_text)[0]
        if not key_text and not total:
            # figures without a key would be lost without a word: an error, placed at the key
            if not _label(first_text)[1] and any(
                    j < width and parse_number(row[j]).value is not None for j in value_js):
                key_label = headers[lay.key_column]
                placed.append((i + 1, -1, _finding(
                    "missing_key", "error",
                    f"Dòng có số liệu nhưng thiếu '{key_label}'.",
                    f"The row has figures but no '{key_label}'.",
                    sheet.name, i + 1, key_label, "",
                    (f"{key_label} của dòng này", f"this row's {key_label}"),
                )))
            continue  # a note in another column, a sub-header
        if not total and key_note and not any(
                j < width and not _blank(row[j]) for j in value_js):
            continue
        if total and not poverty:
            continue  # totals of codes and points are not data
        if lay.kind == TERM and not any(j < width and not _blank(row[j]) for j in figure_js):
            skipped.append((i + 1, re.sub(r"\s+", "", key_text).upper()))
            continue
        kept.append(row)
        excel_rows.append(i + 1)
        totals.append(total)
        firsts.append(first_text)

    # column by column: one conversion per column kind, findings placed back in row order
    values: dict[str, object] = {"excel_row": excel_rows}
    cells_of: dict[str, list[object] | None] = {}
    for position, (j, col) in enumerate(mapping.items()):
        cells = [row[j] if j < len(row) else None for row in kept]
        cells_of[col.name] = cells
        values[col.name] = _column(col, cells, headers[col.name], sheet.name, excel_rows,
                                   position, placed)
    for col in lay.columns:
        if col.name not in headers:
            values[col.name] = [None] * len(kept)
            cells_of[col.name] = None
    if poverty:
        values["is_total"] = totals
        names = values["district_name"]
        for n, total in enumerate(totals):
            if total and not names[n]:
                names[n] = firsts[n]
    placed.sort(key=lambda p: (p[0], p[1]))
    findings.extend(f for *_, f in placed)

    columns = ["excel_row", *[c.name for c in lay.columns]] + (["is_total"] if poverty else [])
    if lay.kind == TERM:
        values["actual_text"] = [_cell_text(c) for c in cells_of["actual_value"]]
        _normalise_results(values)
        columns.append("actual_text")
    text = CellTexts(excel_rows, [c.name for c in lay.columns], cells_of,
                     totals if poverty else None, lay.kind == TERM)
    return SheetData(lay.kind, sheet.name, {c: values[c] for c in columns}, text, headers,
                     skipped)


def _blank(cell: object) -> bool:
    """The cell shows nothing (`_cell_text` would be empty)."""
    return cell is None or (cell.__class__ is str and not cell.strip())


class CellTexts(Mapping):
    """`SheetData.text`: Excel row -> {canonical column: the cell as written}, made when asked
    (a report quotes a few cells; most are never looked at). Columns the sheet lacks are ''."""

    __slots__ = ("_cells", "_names", "_rows", "_term", "_totals")

    def __init__(self, rows: list[int], names: list[str], cells: dict[str, list | None],
                 totals: list[bool] | None, term: bool):
        self._rows = {row: n for n, row in enumerate(rows)}
        self._names = names
        self._cells = cells
        self._totals = totals
        self._term = term

    def __getitem__(self, row: int) -> dict[str, object]:
        n = self._rows[row]
        out: dict[str, object] = {}
        for name in self._names:
            cells = self._cells[name]
            out[name] = _cell_text(cells[n]) if cells is not None else ""
        if self._totals is not None:
            out["is_total"] = self._totals[n]
        if self._term:
            out["actual_text"] = out["actual_value"]
        return out

    def __iter__(self):
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def _column(col: Column, cells: list[object], header: str, sheet: str, rows: list[int],
            position: int, placed: list) -> list:
    """The values of one column; each problem becomes a finding at its row."""
    kind = col.kind
    out: list = []
    append = out.append
    if kind in ("text", "code"):
        code = kind == "code"
        for n, cell in enumerate(cells):
            if cell.__class__ is str:
                if "\x00" in cell:
                    placed.append((rows[n], position, _nul(cell, sheet, rows[n], header)))
                    text = _cell_text(cell)  # escaped: the row is not lost, the error stands
                    append(text)
                    continue
                text = cell.strip()
            else:
                text = _cell_text(cell)
            if code:
                text = _SPACES.sub("", text).upper() if text else text
            append(text or None)
        return out
    multiplier = layout.money_multiplier(header) if kind == "money" else 1
    plain = kind != "result"  # a result keeps how it was written (`Number`)
    for n, cell in enumerate(cells):
        # the common cells first, as `parse_number` reads them: a number cell, nothing, digits
        if cell.__class__ is float and plain and math.isfinite(cell):
            append(cell * multiplier if multiplier != 1 else cell)
            continue
        if cell is None or cell == "":
            append(None)
            continue
        if cell.__class__ is str and plain:
            if cell.isdecimal():
                append(float(cell) * multiplier if multiplier != 1 else float(cell))
                continue
            value = common_figure(cell)  # most figures: '1.284', '11,5', '1.284,5'
            if value is None:
                value = _PLAIN_TEXTS.get(cell, _UNSEEN)  # another text read before: '-', '1 284'
            if value is not _UNSEEN:
                append(value * multiplier if multiplier != 1 and value is not None else value)
                continue
        if cell.__class__ is str and "\x00" in cell:
            placed.append((rows[n], position, _nul(cell, sheet, rows[n], header)))
            append(None)
            continue
        number = _number(cell)
        if plain and cell.__class__ is str and not number.error and number.denominator is None \
                and len(_PLAIN_TEXTS) < _PLAIN_TEXTS_MAX:
            _PLAIN_TEXTS[cell] = number.value
        if number.error:
            text = _cell_text(cell)
            placed.append((rows[n], position, _finding(
                "not_a_number", "error",
                f"Giá trị '{text}' không phải là số "
                f"({_NUMBER_ERRORS_VI.get(number.error, 'không đọc được')}).",
                f"Value '{text}' is not a number ({number.error}).",
                sheet, rows[n], header, text,
                ("một số, ví dụ 1.284 hoặc 11,54", "a number such as 1.284 or 11,54"),
            )))
            append(None)
        elif kind == "result":
            append(number)  # resolved per indicator in _normalise_results
        elif number.value is None:
            append(None)
        elif number.denominator is not None:
            text = _cell_text(cell)
            placed.append((rows[n], position, _finding(
                "unexpected_fraction", "error",
                f"Cột '{header}' không nhận phân số: '{text}'.",
                f"Column '{header}' does not take a fraction: '{text}'.",
                sheet, rows[n], header, text, ("một số", "a number"),
            )))
            append(None)
        else:
            append(number.value * multiplier if multiplier != 1 else number.value)
    return out


def _nul(cell: str, sheet: str, row: int, header: str) -> Finding:
    text = _cell_text(cell)
    return _finding(
        "control_character", "error",
        f"Ô có ký tự điều khiển NUL (_x0000_), không lưu được: '{text}'.",
        f"The cell holds a NUL control character (_x0000_), which cannot be stored: "
        f"'{text}'.",
        sheet, row, header, text,
        ("văn bản không có ký tự điều khiển", "text without control characters"),
    )


# texts of number cells read in full before (not the common figures `common_figure` reads at
# once) and the plain value each stands for (None: not reported), so the same texts coming back
# cost one look-up; texts that are no plain number stay out
_PLAIN_TEXTS: dict[str, float | None] = {}
_PLAIN_TEXTS_MAX = 1 << 16
_UNSEEN = object()


@lru_cache(maxsize=1 << 16)
def _text_number(text: str) -> Number:
    return parse_number(text)


def _number(cell: object) -> Number:
    """`parse_number`, remembering text already seen (the same figures come back)."""
    return _text_number(cell) if cell.__class__ is str else parse_number(cell)


def _normalise_results(values: dict[str, list]) -> None:
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
    values["actual_value"] = actual
    values["target_value"] = target


# ---------------------------------------------------------------- the workbook

def warm_up() -> None:
    """Load the reference data reading uses (catalogue, communes) into this process, so that
    worker processes forked from it find it loaded instead of each loading its own copy."""
    indicators_of("term")
    match_commune("01", "")


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
        parsed.sheets[POVERTY].columns["commune_code"] = commune_codes(parsed)
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
        if any(v is not None and v == v for c in columns for v in data.columns.get(c, ())):
            found.add(kind)
    return found


def commune_codes(parsed: ParsedFile) -> list[str | None]:
    """The commune code of each GiamNgheo row (contract §2): from the 2025 annual report on, the
    commune of the declared province that the unit names; None for a unit that names none (the
    validation says why), for the total row and for the districts of earlier periods."""
    columns = parsed.sheets[POVERTY].columns
    period = parse_period(parsed.info.period) if parsed.info.period else None
    province = parsed.info.province_code
    if period is None or not period.uses_new_codes or not province:
        return [None] * len(columns["excel_row"])
    codes = []
    for name, is_total in zip(columns["district_name"], columns["is_total"], strict=True):
        found = match_commune(province, name) if name and not is_total else None
        codes.append(found.commune.code if found and found.commune else None)
    return codes
