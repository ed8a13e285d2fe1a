"""Read a received file into plain cell grids, whatever its format (contract §2).

Spreadsheets are read with python-calamine, which returns the cached values of formula cells.
A `.csv` carries the ThongTin lines, a blank line, then one data sheet.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from pathlib import Path

from ingest import settings
from ingest.read import limits
from ingest.read.errors import RESAVE_EN, RESAVE_VI, UnreadableFile, damaged

__all__ = ["CSV_DATA_SHEET", "FRAGMENT", "Sheet", "UnreadableFile", "read_file"]

SPREADSHEET_EXTENSIONS = {".xlsx", ".xls", ".ods"}
ACCEPTED_EXTENSIONS = SPREADSHEET_EXTENSIONS | {".csv"}
CSV_DATA_SHEET = "(csv)"  # name given to a csv file's data part

_ZIP = b"PK\x03\x04"
_ZIP_END = b"PK\x05\x06"  # the end-of-central-directory record: the last thing a zip holds
# a file that looks cut short (still arriving?): `process_files` leaves a young one for later
FRAGMENT = "fragment"
_OLE = b"\xd0\xcf\x11\xe0"
_MAGIC = {".xlsx": _ZIP, ".ods": _ZIP, ".xls": _OLE}
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")  # OLE stream of an encrypted .xlsx


def _encrypted() -> UnreadableFile:
    return UnreadableFile(
        "Bảng tính được đặt mật khẩu (mã hóa) nên không đọc được. Hãy mở tệp bằng Excel, bỏ "
        "mật khẩu (Tệp > Thông tin > Bảo vệ sổ làm việc > Mã hóa bằng mật khẩu, xóa mật khẩu), "
        "lưu lại rồi gửi lại.",
        "The workbook is password-protected (encrypted) and cannot be read. Open it in Excel, "
        "remove the password (File > Info > Protect Workbook > Encrypt with Password, clear it), "
        "save it and send it again.",
        rule="encrypted",
    )


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]  # rows[i][j] is the cell at Excel row i+1, column j+1
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    # formula cells with no computed value stored (a workbook written by a program and never
    # opened in a spreadsheet): calamine reads them as empty; their references, e.g. "B5"
    uncomputed: list[str] = field(default_factory=list)


def read_file(path: Path, data: bytes) -> list[Sheet]:
    """Sheets of the file, in workbook order. Raises UnreadableFile with a clerk's message."""
    ext = _printable(path.suffix.lower())
    if ext == ".xlsm":
        raise UnreadableFile(
            "Tệp có macro (.xlsm) không được nhận. " + RESAVE_VI,
            "Macro-enabled workbooks (.xlsm) are not accepted. " + RESAVE_EN,
            rule="macro_enabled",
        )
    if ext not in ACCEPTED_EXTENSIONS:
        raise UnreadableFile(
            f"Tệp kiểu '{ext or '(không có đuôi)'}' không phải bảng tính báo cáo; chỉ nhận "
            ".xlsx, .xls, .ods hoặc .csv. " + RESAVE_VI,
            f"A '{ext or '(no extension)'}' file is not a report workbook; only .xlsx, .xls, .ods "
            "or .csv are taken. " + RESAVE_EN,
            rule="file_type",
        )
    if not data:
        raise UnreadableFile("Tệp rỗng (0 byte): có thể việc sao chép chưa xong. Hãy gửi lại "
                             "tệp báo cáo.",
                             "The file is empty (0 bytes): copying may not have finished. "
                             "Send the report file again.", rule="empty_file")
    limits.check_file_size(len(data))
    if ext == ".csv":
        return _read_csv(data)
    if ext in (".xlsx", ".ods") and data.startswith(_OLE) and _ENCRYPTED_PACKAGE in data:
        raise _encrypted()  # Office keeps an encrypted .xlsx in an OLE container
    magic = _MAGIC[ext]
    formulas: dict[str, bytes] = {}
    if not data.startswith(magic):
        raise UnreadableFile(
            f"Tệp có đuôi {ext} nhưng nội dung không phải bảng tính {ext} (tệp bị hỏng, hoặc "
            "một tệp loại khác bị đổi tên đuôi). " + RESAVE_VI,
            f"The file is named {ext} but its content is not a {ext} spreadsheet (it is "
            "damaged, or another kind of file was renamed). " + RESAVE_EN,
            rule="unreadable",
        )
    if magic == _ZIP:
        if _ZIP_END not in data[-(1 << 16) - 22:]:
            raise UnreadableFile(
                "Tệp bị cắt ngang (chưa được chép hoặc gửi xong): thiếu phần cuối của tệp nén. "
                "Hãy gửi lại cả tệp.",
                "The file is cut short (not completely copied or sent): the end of the zip "
                "container is missing. Send the whole file again.",
                rule=FRAGMENT)
        if ext == ".ods" and b"encryption-data" in _manifest(data):
            raise _encrypted()
        formulas = limits.inspect_zip(data, xlsx=ext == ".xlsx")
    sheets = _read_spreadsheet(data)
    # formula cells without a value: looked for in the sheets the check unpacked (where every
    # spreadsheet program writes them) when one of them holds a formula
    if ext == ".xlsx" and any(formulas.values()):
        uncomputed = uncomputed_formulas(data, formulas)
        for sheet in sheets:
            sheet.uncomputed = uncomputed.get(sheet.name, [])
    return sheets


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]{1,3}[0-9]{1,7})"')
_VALUE = re.compile(rb"<v>[^<]")


def uncomputed_formulas(data: bytes, parts: dict[str, bytes] | None = None
                        ) -> dict[str, list[str]]:
    """Per sheet name, the formula cells of an .xlsx that hold no computed (cached) value.
    `parts`: sheet parts already unpacked (by `limits.inspect_zip`: those that hold formulas);
    a sheet not among them is read from the archive."""
    import posixpath
    import xml.etree.ElementTree as ET
    import zipfile

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    found: dict[str, list[str]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            targets = {r.get("Id"): r.get("Target", "") for r in ET.fromstring(
                archive.read("xl/_rels/workbook.xml.rels"))}
            for sheet in ET.fromstring(archive.read("xl/workbook.xml")).iter(f"{main}sheet"):
                target = targets.get(sheet.get(rel), "")
                part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join("xl", target))
                xml = parts.get(part) if parts is not None else None
                if xml is None:
                    try:
                        xml = archive.read(part)
                    except KeyError:
                        continue
                if b"<f" not in xml:
                    continue
                cells = [(_REF.search(attrs) or [b"", b"?"])[1].decode()
                         for attrs, inner in _CELL.findall(xml)
                         if inner and b"<f" in inner and not _VALUE.search(inner)]
                if cells:
                    found[_printable(sheet.get("name", ""))] = cells
    except (KeyError, zipfile.BadZipFile, ET.ParseError, ValueError, OSError):
        return found
    return found


def _manifest(data: bytes) -> bytes:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read("META-INF/manifest.xml")[:1_000_000]
    except (KeyError, zipfile.BadZipFile, ValueError, OSError, EOFError):
        return b""


def _read_spreadsheet(data: bytes) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    sheets = []
    cells = 0
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            cells = limits.check_sheet(name, sheet.height, sheet.width, cells)
            rows = sheet.to_python(skip_empty_area=False)
            _check_cells(name, rows)
            merged = list(sheet.merged_cell_ranges or [])
            sheets.append(Sheet(_printable(name), rows, merged))
    except (UnreadableFile, MemoryError, RecursionError):
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise _encrypted() from exc
        raise damaged(_printable(f"{type(exc).__name__}: {exc}")[:300]) from exc
    return sheets


def _printable(text: str) -> str:
    return text if text.isprintable() else "".join(
        c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
        for c in text)


_IS_TEXT = partial(type.__instancecheck__, str)


def _check_cells(sheet: str, rows: list[list[object]]) -> None:
    limit = settings.max_cell_chars()
    # the longest text of the sheet, measured without a Python loop; placed only when too long
    if max(map(len, filter(_IS_TEXT, chain.from_iterable(rows))), default=0) <= limit:
        return
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if type(cell) is str and len(cell) > limit:
                raise limits.long_cell(sheet, i, j, len(cell))


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)  # Excel's "Unicode text" and some exports
    elif b"\x00" in data[:4096]:
        # UTF-16 without a byte-order mark: every second byte of ASCII text is zero
        head = data[:4096]
        even, odd = head[0::2].count(0), head[1::2].count(0)
        encodings = ("utf-16-be",) if even > odd else ("utf-16-le",)
    else:
        encodings = ("utf-8-sig", "cp1258")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise UnreadableFile(
        "Tệp CSV không phải văn bản đọc được (có byte 0: tệp nhị phân, hoặc mã hóa lạ); "
        "hãy lưu lại dạng CSV UTF-8.",
        "The CSV file is not readable text (it holds zero bytes: a binary file, or an unusual "
        "encoding); save it again as CSV UTF-8.",
        rule="encoding",
    )


def _read_csv(data: bytes) -> list[Sheet]:
    text = _decode(data)
    # one line break, whatever the program wrote (CR-only files come from old Mac exports)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sample = text[:65536]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    limit = settings.max_cell_chars()
    max_cells = settings.max_cells()
    previous = csv.field_size_limit(limit + 1)
    rows: list[list[str]] = []
    cells = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            cells += max(1, len(row))
            if cells > max_cells:
                shown = f"{max_cells:,}".replace(",", ".")
                raise limits.too_large(f"hơn {shown} ô", f"more than {shown} cells",
                                       rule="too_complex")
            for cell in row:
                if len(cell) > limit:
                    raise limits.long_cell(CSV_DATA_SHEET, reader.line_num - 1, None, len(cell))
            rows.append(row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise limits.long_cell(CSV_DATA_SHEET, reader.line_num - 1, None, None) from exc
        raise UnreadableFile(
            f"Tệp CSV sai cấu trúc ở dòng {reader.line_num} (thường là một dấu ngoặc kép \" "
            "không được đóng). Hãy mở tệp bằng Excel hoặc LibreOffice, sửa dòng đó rồi lưu lại "
            "dưới dạng .xlsx và gửi lại.",
            f"The CSV file is malformed at line {reader.line_num} (usually a quote \" left "
            "open). Open the file in Excel or LibreOffice, correct that line, save it as .xlsx "
            "and send it again.",
            rule="csv_layout", detail=str(exc),
        ) from exc
    finally:
        csv.field_size_limit(previous)
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
    _check_fields(table, delimiter, cut=not text.endswith("\n"))
    return [Sheet("ThongTin", info), Sheet(CSV_DATA_SHEET, table)]


def _filled(row: list[str]) -> int:
    return sum(1 for c in row if c.strip())


def _check_fields(table: list[list[str]], delimiter: str, cut: bool) -> None:
    """Every table row holds as many fields as its header (empty ones at the end aside): a row
    with more or fewer is shifted (an unquoted decimal comma in a comma-separated file) and
    would load wrong numbers. A note or signature line (one cell) is not a table row."""
    header = next((i for i, r in enumerate(table) if _filled(r) >= 2), None)
    if header is None:
        return
    width = len(table[header])
    while width and not table[header][width - 1].strip():
        width -= 1
    wrong = []
    for i in range(header + 1, len(table)):
        row = table[i]
        if _filled(row) < 2:
            continue
        used = max(j for j, c in enumerate(row) if c.strip()) + 1
        if used > width or len(row) < width:
            wrong.append((i + 1, len(row) if len(row) < width else used))
    if not wrong:
        return
    more = f" … (+{len(wrong) - 5})" if len(wrong) > 5 else ""
    rows_vi = "; ".join(f"dòng {line} có {count} ô" for line, count in wrong[:5]) + more
    rows_en = "; ".join(f"line {line} has {count}" for line, count in wrong[:5]) + more
    fragment = cut and wrong[-1][0] == len(table)
    if fragment:
        vi_cut = " Dòng cuối bị cắt ngang: tệp có thể chưa được gửi xong; hãy gửi lại cả tệp."
        en_cut = (" The last line is cut short: the file may not have been sent completely; "
                  "send the whole file again.")
    else:
        vi_cut = en_cut = ""
    comma = delimiter == ","
    raise UnreadableFile(
        f"Dòng tiêu đề (dòng {header + 1}) có {width} cột, nhưng {rows_vi}. "
        + ("Có lẽ số thập phân được viết bằng dấu phẩy (120,5) trong tệp phân cách bằng dấu "
           "phẩy: hãy đặt các số đó trong ngoặc kép (\"120,5\") hoặc lưu tệp với dấu chấm phẩy "
           "(;) làm dấu phân cách." if comma else
           "Hãy kiểm tra các dòng đó (thừa hoặc thiếu dấu chấm phẩy), hoặc đặt ô có dấu ; trong "
           "ngoặc kép.") + vi_cut,
        f"The header (line {header + 1}) has {width} columns, but {rows_en}. "
        + ("Decimals were probably written with a comma (120,5) in a comma-separated file: put "
           "such numbers in double quotes (\"120,5\") or save the file with semicolons (;) as "
           "the separator." if comma else
           "Check those lines (a separator too many or too few), or put a cell holding ; in "
           "double quotes.") + en_cut,
        rule=FRAGMENT if fragment else "csv_fields",
    )
