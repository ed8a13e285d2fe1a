"""The sheets of the template: a form that prints on A4 landscape, one page wide, and shows the
clerk where to type (shaded, unlocked cells) and what is fixed (labels and codes, locked).

Every label comes from `ingest.read.layout`. What the reader skips is used on purpose: the title
rows above each header, the STT column, unit hints in parentheses after a header label (matching
drops them, as for "(triệu đồng)"), the signature block under each table (written beside the
key column, which stays empty, so the reader passes over those rows) and the HuongDan sheet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from ingest.read.layout import SHEETS, Column
from ingest.template import validation as checks

FONT = "Times New Roman"  # the typeface of Vietnamese administrative documents
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # where the clerk types
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_THIN = Side(style="thin", color="808080")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
UNLOCKED = Protection(locked=False)
HEADER_ROW = 3  # title, subtitle, then the header

# width (characters) by the kind of a column; names of texts are measured
# Whole numbers shown 2.800 whatever the office's locale: "#,##0" puts the locale's grouping
# sign (2,800 under English settings, which a Vietnamese reader takes for 2,8), while these
# dots are literal text of the format; conditions pick the groups (Excel and LibreOffice alike).
WHOLE_FORMAT = '[>=1000000]#"."###"."##0;[>=1000]#"."##0;0'
_WIDTH = {"code": 10, "count": 12, "money": 13, "number": 13, "score": 11, "result": 14}
_NAME_WIDTH_MAX = 60
_NOTE_WIDTH = 24


def _font(**kw) -> Font:
    """The form's typeface with `kw` (bold, italic, size: 11 unless given)."""
    return _font_of(tuple(sorted(kw.items())))


def _align(**kw) -> Alignment:
    return _align_of(tuple(sorted(kw.items())))


# One style object per distinct style, shared by every cell that has it: openpyxl keeps each
# style once per workbook anyway (compared by value), and building one per cell was a fifth of
# the CPU of writing a template.
@cache
def _font_of(kw: tuple) -> Font:
    options = dict(kw)
    return Font(name=FONT, size=options.pop("size", 11), **options)


@cache
def _align_of(kw: tuple) -> Alignment:
    return Alignment(**dict(kw))


def print_setup(ws, last_col: int, last_row: int, header_row: int | None,
                pages_tall: int = 0) -> None:
    """A4 landscape, one page wide (as many pages tall as needed, unless `pages_tall`), header
    repeated."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = pages_tall  # 0, no limit: long unit lists run on
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.2,
                                  footer=0.3)
    ws.print_options.horizontalCentered = True
    ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.center.text = "Trang &P / &N"
    ws.oddFooter.center.font = FONT


def protect(ws) -> None:
    """Locked cells stay as written; no password, so an office can unprotect the sheet. Rows may
    be inserted (more units) and columns resized."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.insertRows = False
    ws.protection.deleteRows = False


def title_rows(ws, title: str, subtitle: str, width: int) -> None:
    ws.cell(1, 1, title).font = _font(bold=True, size=13)
    ws.cell(2, 1, subtitle).font = _font(italic=True, size=10)
    for row in (1, 2):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        ws.cell(row, 1).alignment = _align(horizontal="center", vertical="center",
                                              wrap_text=True)
    ws.row_dimensions[1].height = 20
    ws.row_dimensions[2].height = 28


def signature_block(ws, row: int, key_col: int, widths: list[float]) -> int:
    """Người lập biểu (left) and Thủ trưởng đơn vị (right); returns the last row used.

    Nothing goes into the key column, so the reader takes none of these rows for data."""

    def span(columns: list[int], room: float = 34) -> tuple[int, int]:
        taken: list[int] = []
        for c in columns:  # as few columns as hold the longest line
            taken.append(c)
            if sum(widths[j - 1] for j in taken) >= room:
                break
        return min(taken), max(taken)

    last_col = len(widths)
    right = span(list(range(last_col, key_col + 1, -1)))
    left = span(list(range(key_col + 1, right[0])))
    lines = [
        (None, "…………, ngày …… tháng …… năm 20……", False),
        ("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", True),
        ("(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)", False),
    ]
    for i, (left_text, right_text, bold) in enumerate(lines):
        r = row + i
        for (c0, c1), text in ((left, left_text), (right, right_text)):
            if text is None:
                continue
            if c1 > c0:
                ws.merge_cells(start_row=r, start_column=c0, end_row=r, end_column=c1)
            cell = ws.cell(r, c0, text)
            cell.font = _font(bold=bold, italic=not bold)
            cell.alignment = _align(horizontal="center")
    return row + len(lines) + 3  # room to sign


def _lines(text: str, width: float) -> int:
    return sum(max(1, math.ceil(len(part) / max(width - 1, 1))) for part in text.split("\n"))


@dataclass
class Table:
    """One data sheet's table as written: where the data rows are and which column is where."""

    ws: object
    kind: str
    first_row: int
    last_row: int
    letters: dict[str, str] = field(default_factory=dict)  # canonical column -> letter

    def ref(self, name: str, absolute_column: bool = False) -> str:
        """The cell of column `name` on the first data row (relative row)."""
        return f"{'$' if absolute_column else ''}{self.letters[name]}{self.first_row}"

    def span(self, name: str) -> str:
        return f"{self.letters[name]}{self.first_row}:{self.letters[name]}{self.last_row}"


def data_sheet(wb, kind: str, title: str, subtitle: str, rows: list[dict[str, object]],
               inputs: set[str], *, header_hints: dict[str, str] | None = None,
               number_formats: dict[tuple[int, str], str] | None = None,
               input_cells: set[tuple[int, str]] | None = None) -> Table:
    """Write one data sheet: STT + the layout's columns, `rows` pre-filled, the `inputs` columns
    (and the single `input_cells`, (row index, column)) shaded and unlocked, the rest locked;
    then the signature block and the print setup."""
    lay = SHEETS[kind]
    ws = wb.create_sheet(lay.sheet_name)
    header_hints = header_hints or {}
    number_formats = number_formats or {}
    columns: list[Column | None] = [None, *lay.columns]  # None: STT
    width = len(columns)
    title_rows(ws, title, subtitle, width)

    widths: list[float] = []
    for j, col in enumerate(columns, start=1):
        if col is None:
            w = 5
        elif col.kind == "text":
            texts = [str(r.get(col.name) or "") for r in rows]
            longest = max([len(t) for t in texts] + [len(col.label),
                                                     22 if col.name == lay.key_column else 10])
            w = _NOTE_WIDTH if col.name == "note" else min(longest + 2, _NAME_WIDTH_MAX)
        else:
            w = _WIDTH[col.kind]
        widths.append(w)
        ws.column_dimensions[get_column_letter(j)].width = w

    header_height = 1
    for j, col in enumerate(columns, start=1):
        text = "STT" if col is None else col.label
        if col is not None and col.name in header_hints:
            text = f"{text}\n{header_hints[col.name]}"
        cell = ws.cell(HEADER_ROW, j, text)
        cell.font = _font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = _align(horizontal="center", vertical="center", wrap_text=True)
        header_height = max(header_height, _lines(text, widths[j - 1]))
    ws.row_dimensions[HEADER_ROW].height = 15 * header_height + 4

    table = Table(ws, kind, HEADER_ROW + 1, HEADER_ROW + max(len(rows), 1))
    for j, col in enumerate(columns, start=1):
        if col is not None:
            table.letters[col.name] = get_column_letter(j)
    for i, values in enumerate(rows):
        r = table.first_row + i
        stt = ws.cell(r, 1, i + 1)
        stt.alignment = _align(horizontal="center", vertical="top")
        height = 1
        for j, col in enumerate(columns, start=1):
            cell = ws.cell(r, j) if col is None else ws.cell(r, j, values.get(col.name))
            cell.font = _font()
            cell.border = BORDER
            if col is None:
                continue
            if col.kind == "text":
                cell.alignment = _align(wrap_text=True, vertical="top")
                height = max(height, _lines(str(values.get(col.name) or ""), widths[j - 1]))
            else:
                cell.alignment = _align(vertical="top")
            if col.name in inputs or (i, col.name) in (input_cells or ()):
                cell.fill = INPUT_FILL
                cell.protection = UNLOCKED
            fmt = number_formats.get((i, col.name))
            if fmt:
                cell.number_format = fmt
            elif col.kind in ("count", "money"):
                cell.number_format = WHOLE_FORMAT
            # other numbers stay General: Excel shows "150." for 150 under "#,##0.##"
        if height > 1:
            ws.row_dimensions[r].height = 15 * height + 2

    key_col = 1 + [c.name for c in lay.columns].index(lay.key_column) + 1
    last = signature_block(ws, table.last_row + 2, key_col, widths)
    ws.freeze_panes = ws.cell(table.first_row, key_col + 1)
    print_setup(ws, width, last, HEADER_ROW)
    protect(ws)
    return table


def info_sheet(wb, title: str, rows: list[tuple[str, object]], inputs: dict[str, checks.Check],
               formats: dict[str, str]):
    """Sheet ThongTin: label | value. `inputs` maps the labels the clerk fills to their check."""
    ws = wb.active
    ws.title = "ThongTin"
    title_rows(ws, title, "Thông tin chung của báo cáo. Ô màu vàng: đơn vị điền; các ô khác đã "
               "điền sẵn, không sửa.", 2)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 48
    first = HEADER_ROW + 1
    for i, (label, value) in enumerate(rows):
        r = first + i
        label_cell = ws.cell(r, 1, label)
        label_cell.font = _font(bold=True)
        value_cell = ws.cell(r, 2, value)
        value_cell.font = _font()
        value_cell.number_format = formats.get(label, "@")
        for cell in (label_cell, value_cell):
            cell.border = BORDER
        if label in inputs:
            value_cell.fill = INPUT_FILL
            value_cell.protection = UNLOCKED
            checks.add(ws, inputs[label], value_cell.coordinate)
    print_setup(ws, 2, first + len(rows), None)
    protect(ws)
    return ws


def guide_sheet(wb, name: str, title: str, paragraphs: list[tuple[str, bool]]):
    """A sheet of instructions, first in the workbook; the reader ignores it (contract §7)."""
    ws = wb.create_sheet(name, 0)
    ws.column_dimensions["A"].width = 110
    ws.cell(1, 1, title).font = _font(bold=True, size=13)
    r = 2
    for text, heading in paragraphs:
        r += 1 if heading else 0  # a blank line before each heading
        cell = ws.cell(r, 1, text)
        cell.font = _font(bold=heading)
        cell.alignment = _align(wrap_text=True, vertical="top")
        lines = _lines(text, 110 * 1.2)  # a column of width 110 holds ~130 characters of text
        if lines > 1:
            ws.row_dimensions[r].height = 15 * lines + 2
        r += 1
    print_setup(ws, 1, r, None, pages_tall=1)
    protect(ws)
    return ws
