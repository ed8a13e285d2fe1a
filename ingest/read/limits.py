"""Limits checked before the work: what a file would cost to read is measured on its container
(zip entries, the cell references of each sheet) before any spreadsheet library expands it.

A workbook is a zip of XML: a few kilobytes can declare a sheet spanning A1:XFD1048576 (17
billion cells, which a reader allocates densely) or unpack to gigabytes. Each check raises
`UnreadableFile` with the sender's words ("too large", "too complex") and the real figures. What
these checks cannot see (an .xls, an .ods that repeats empty rows, a lying zip header) is bounded
by the worker process the file is parsed in (`ingest.isolated`).
"""

from __future__ import annotations

import io
import re
import zipfile

from ingest import settings
from ingest.read.errors import RESAVE_EN, RESAVE_VI, UnreadableFile

# a cell reference, e.g. r="XFD1048576": the column letters and the row number (any attribute
# ending in r with such a value counts: never fewer than the cells hold, and fast to look for)
_CELL_REF = re.compile(rb"""r=["']([A-Z]{1,3})([0-9]{1,7})["']""")
_CELL_TAG = re.compile(rb"<c[\s/>]")
_CELL_TAG_PREFIXED = re.compile(rb"<(?:\w+:)?c[\s/>]")  # <x:c ...>, where a prefix is used
_SHEET_XML = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)


def mb(size: int) -> str:
    """Sizes as the limits are set: in MB of 1024 × 1024 bytes ('20 MB', '20,5 MB')."""
    value = size / 1024 / 1024
    text = f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"
    return text.replace(".", ",") + " MB"


def _number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def too_large(what_vi: str, what_en: str, rule: str = "too_large") -> UnreadableFile:
    """The one message of every size or complexity limit: what was over, and what to send."""
    return UnreadableFile(
        f"Tệp quá lớn hoặc quá phức tạp để đọc: {what_vi}. Hãy gửi bảng tính chỉ gồm các "
        "sheet báo cáo (xóa các ô, dòng, cột thừa).",
        f"The file is too large or too complex to read: {what_en}. Send a workbook with only "
        "the report sheets (delete stray cells, rows and columns).",
        rule=rule,
    )


def file_too_large(size: int) -> UnreadableFile:
    """A file over the size limit (LHPN_MAX_FILE_MB), whether the receiver sets it aside unread
    or the reader meets it."""
    limit = settings.max_file_bytes()
    return too_large(f"{mb(size)}, giới hạn là {mb(limit)}",
                     f"{mb(size)}, the limit is {mb(limit)}")


def check_file_size(size: int) -> None:
    if size > settings.max_file_bytes():
        raise file_too_large(size)


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def inspect_zip(data: bytes, xlsx: bool) -> dict[str, bytes]:
    """Check an .xlsx / .ods container before a reader expands it. A zip that cannot even be
    listed is left to the reader, which reports it as damaged. Returns the worksheet parts of an
    .xlsx as unpacked for the check (part name -> XML; b"" for a part without formulas), so
    that the reader looks for uncomputed formulas without unpacking them again."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return {}
    names = {e.filename.lower() for e in entries}
    if ("xl/workbook.xml" if xlsx else "content.xml") not in names:
        kind = "Excel (.xlsx)" if xlsx else "OpenDocument (.ods)"
        raise UnreadableFile(
            f"Tệp không phải là bảng tính {kind}: là một tệp loại khác bị đổi đuôi (ví dụ văn "
            "bản Word). " + RESAVE_VI,
            f"The file is not an {kind} workbook: it is another kind of file renamed (for "
            "example a Word document). " + RESAVE_EN)
    unpacked = sum(e.file_size for e in entries)
    max_unpacked = settings.max_unzipped_bytes()
    if unpacked > max_unpacked:
        raise too_large(f"giải nén ra {mb(unpacked)}, giới hạn là {mb(max_unpacked)}",
                        f"it unpacks to {mb(unpacked)}, the limit is {mb(max_unpacked)}")
    ratio = unpacked / max(1, len(data))
    if ratio > settings.max_zip_ratio() and unpacked > 1024 * 1024:
        raise too_large(f"nén {ratio:.0f} lần (tệp bất thường, có thể là 'bom nén')",
                        f"it is compressed {ratio:.0f} times (an abnormal file, perhaps a "
                        "'zip bomb')", rule="too_complex")
    if not xlsx:
        return {}
    max_cells = settings.max_cells()
    sheets = [entry for entry in entries if _SHEET_XML.match(entry.filename)]
    # a cell tag takes 3 bytes at least, and an entry unpacks to its declared size at most
    # (zipfile stops there): sheets that cannot hold the limit's cells are not counted
    counted = sum(entry.file_size for entry in sheets) // 3 > max_cells
    area = cells = 0
    formulas: dict[str, bytes] = {}
    for entry in sheets:
        try:
            xml = archive.read(entry)
        except Exception:  # noqa: BLE001 - damaged entry: the reader names it
            return formulas
        rows = cols = 0
        refs = _CELL_REF.findall(xml)
        if refs:
            letters, numbers = zip(*refs, strict=True)
            cols = max(map(_column_number, set(letters)))
            rows = max(map(int, set(numbers)))
        count = len((_CELL_TAG_PREFIXED if b":c" in xml else _CELL_TAG).findall(xml)) \
            if counted else 0
        area += rows * cols
        cells += count
        if area > max_cells or cells > max_cells:
            shown = max(area, cells)
            raise too_large(
                f"một sheet trải trên {_number(rows)} dòng × {_number(cols)} cột "
                f"({_number(shown)} ô), giới hạn là {_number(max_cells)} ô",
                f"a sheet spans {_number(rows)} rows × {_number(cols)} columns "
                f"({_number(shown)} cells), the limit is {_number(max_cells)} cells",
                rule="too_complex")
        if b"<f" in xml:
            formulas[entry.filename] = xml
        else:
            formulas[entry.filename] = b""  # checked: no formula to look at again
    return formulas


def check_sheet(name: str, height: int, width: int, seen_cells: int) -> int:
    """Check a sheet's dimensions as the reader reports them; returns the running cell count."""
    max_cells = settings.max_cells()
    total = seen_cells + height * width
    if total > max_cells:
        raise too_large(
            f"sheet '{name}' có {_number(height)} dòng × {_number(width)} cột, giới hạn là "
            f"{_number(max_cells)} ô",
            f"sheet '{name}' has {_number(height)} rows × {_number(width)} columns, the limit "
            f"is {_number(max_cells)} cells", rule="too_complex")
    return total


def long_cell(sheet: str, row: int, column: int | None, length: int | None) -> UnreadableFile:
    """A cell over the length limit (`column` None: a CSV line; `length` None: not measured)."""
    limit = settings.max_cell_chars()
    if column is None:
        where_vi, where_en = f"dòng {row + 1} của tệp CSV", f"line {row + 1} of the CSV file"
    else:
        ref = _column_letters(column + 1) + str(row + 1)
        where_vi, where_en = f"ô {ref} của sheet '{sheet}'", f"cell {ref} of sheet '{sheet}'"
    if length is None:
        size_vi, size_en = f"hơn {_number(limit)} ký tự", f"more than {_number(limit)} characters"
    else:
        size_vi, size_en = f"{_number(length)} ký tự", f"{_number(length)} characters"
    return too_large(f"{where_vi} dài {size_vi}, giới hạn là {_number(limit)}",
                     f"{where_en} holds {size_en}, the limit is {_number(limit)}",
                     rule="too_complex")


def _column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
