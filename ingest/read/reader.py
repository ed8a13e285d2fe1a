"""Read a received file into plain cell grids, whatever its format (contract §2).

Spreadsheets are read with python-calamine, which returns the cached values of formula cells.
A `.csv` carries the ThongTin lines, a blank line, then one data sheet.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

SPREADSHEET_EXTENSIONS = {".xlsx", ".xls", ".ods"}
ACCEPTED_EXTENSIONS = SPREADSHEET_EXTENSIONS | {".csv"}
CSV_DATA_SHEET = "(csv)"  # name given to a csv file's data part

_MAGIC = {".xlsx": b"PK\x03\x04", ".ods": b"PK\x03\x04", ".xls": b"\xd0\xcf\x11\xe0"}


class UnreadableFile(Exception):
    """The file cannot be read as a report. Carries the message for the clerk in both languages."""

    def __init__(self, message_vi: str, message_en: str, rule: str = "unreadable"):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.rule = rule


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]  # rows[i][j] is the cell at Excel row i+1, column j+1
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def read_file(path: Path, data: bytes) -> list[Sheet]:
    """Sheets of the file, in workbook order. Raises UnreadableFile with a clerk's message."""
    ext = path.suffix.lower()
    if ext == ".xlsm":
        raise UnreadableFile(
            "Tệp có macro (.xlsm) không được chấp nhận; hãy lưu lại dưới dạng .xlsx.",
            "Macro-enabled workbooks (.xlsm) are not accepted; save the file as .xlsx.",
            rule="macro_enabled",
        )
    if ext not in ACCEPTED_EXTENSIONS:
        raise UnreadableFile(
            f"Định dạng '{ext or '(không có)'}' không được hỗ trợ; "
            "hãy gửi .xlsx, .xls, .ods hoặc .csv.",
            f"File type '{ext or '(none)'}' is not supported; send .xlsx, .xls, .ods or .csv.",
            rule="file_type",
        )
    if not data:
        raise UnreadableFile("Tệp rỗng (0 byte).", "The file is empty (0 bytes).",
                             rule="empty_file")
    if ext == ".csv":
        return _read_csv(data)
    magic = _MAGIC[ext]
    if not data.startswith(magic):
        raise UnreadableFile(
            f"Tệp không phải là bảng tính {ext} (nội dung không đúng định dạng; có thể bị hỏng "
            "hoặc chỉ đổi tên đuôi tệp).",
            f"The file is not a {ext} spreadsheet (its content has another format; it may be "
            "damaged or merely renamed).",
        )
    return _read_spreadsheet(data)


def _read_spreadsheet(data: bytes) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False)
            merged = list(sheet.merged_cell_ranges or [])
            sheets.append(Sheet(name, rows, merged))
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types
        raise UnreadableFile(
            f"Không đọc được bảng tính (tệp hỏng?): {exc}",
            f"The spreadsheet cannot be read (damaged file?): {exc}",
        ) from exc
    return sheets


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(
        "Tệp CSV không phải mã UTF-8; hãy lưu lại với mã UTF-8.",
        "The CSV file is not UTF-8; save it again as UTF-8.",
        rule="encoding",
    )


def _read_csv(data: bytes) -> list[Sheet]:
    text = _decode(data)
    if "\x00" in text:
        raise UnreadableFile("Tệp không phải văn bản CSV.", "The file is not CSV text.")
    lines = text.splitlines()
    sample = "\n".join(lines[:50])
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    # ThongTin lines first, then a blank line, then the data sheet's header and rows.
    blank = next((i for i, r in enumerate(rows) if not any(c.strip() for c in r)), None)
    if blank is None:
        raise UnreadableFile(
            "Tệp CSV phải có phần ThongTin, một dòng trống, rồi bảng số liệu.",
            "A CSV file must hold the ThongTin lines, a blank line, then the data table.",
            rule="csv_layout",
        )
    info = rows[:blank]
    # Data rows keep their line numbers: pad with empty rows so row i is line i+1.
    table = [[] for _ in range(blank + 1)] + rows[blank + 1:]
    return [Sheet("ThongTin", info), Sheet(CSV_DATA_SHEET, table)]
