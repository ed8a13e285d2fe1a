"""Hostile and careless input, generated in code and small on disk: what a province office (or
someone pretending to be one) may drop into the inbox. Used by tests/test_hostile.py.

Each maker writes one file (or link, or folder) below `folder` and returns its path. Bombs are
built from compressible XML or sparse files, so a 17-billion-cell sheet takes 1 KB and a 9 GB file
takes no disk at all.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

from ingest.model import POVERTY
from tests.workbooks import drop, report, write_csv, write_xlsx

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>")
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="GiamNgheo" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _one_sheet_xlsx(path: Path, sheet_xml: str | bytes) -> Path:
    """A minimal but valid .xlsx with one sheet whose XML is given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def sparse_extremes(folder: Path, dimension: str | None = "A1:XFD1048576") -> Path:
    """Cells at A1 and XFD1048576 only: 8 KB that a dense reader would expand to 17 billion
    cells. With `dimension=None` the sheet does not declare its size (readers must find it)."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    xml = (f'{_SHEET_HEAD}{dim}<sheetData>'
           '<row r="1"><c r="A1" t="inlineStr"><is><t>Đơn vị</t></is></c></row>'
           '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
           '</sheetData></worksheet>')
    return _one_sheet_xlsx(folder / f"thua_{dimension is None}.xlsx", xml)


def million_cells(folder: Path, cells: int = 3_000_000) -> Path:
    """Millions of small cells (a few MB compressed)."""
    per_row = 1000
    rows = "".join(f'<row r="{r}">' + '<c><v>1</v></c>' * per_row + "</row>"
                   for r in range(1, cells // per_row + 1))
    return _one_sheet_xlsx(folder / "trieu_o.xlsx",
                           f"{_SHEET_HEAD}<sheetData>{rows}</sheetData></worksheet>")


def whitespace_bomb(folder: Path, megabytes: int = 150) -> Path:
    """Sheet XML padded with whitespace: a few hundred KB that unpack to `megabytes` MB."""
    xml = (_SHEET_HEAD + "<sheetData>").encode() + b" " * (megabytes << 20) + (
        b"</sheetData></worksheet>")
    return _one_sheet_xlsx(folder / "khoang_trang.xlsx", xml)


def csv_separator_bomb(folder: Path, megabytes: int = 8) -> Path:
    """A CSV of separators and line breaks: millions of empty cells in a few MB."""
    path = folder / "dau_cham_phay.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"M\xc3\xa3 t\xe1\xbb\x89nh;60\n\n" + b";" * (megabytes << 20))
    return path


def million_rows_csv(folder: Path, rows: int = 1_000_000) -> Path:
    """A GiamNgheo CSV of a million district rows (about 9 MB, under the size limit)."""
    rep = report("60", "2024", sheets=(POVERTY,), districts=1, seed=17)
    path = write_csv(rep, folder / "trieu_dong.csv", bom=False)
    with open(path, "ab") as f:
        f.write(b"".join(b"H%d;%d;1;1\n" % (i, i % 97) for i in range(rows)))
    return path


def sparse_huge(folder: Path, gigabytes: int = 9) -> Path:
    """A 9 GB file that takes no disk (a sparse file): must be judged by its size alone."""
    path = folder / "rat_lon.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04")
        f.truncate(gigabytes << 30)
    return path


def _patch_xlsx(path: Path, pattern: bytes, replacement: bytes, part: str | None = None) -> Path:
    """Rewrite one regex match in the XML parts of a workbook (to plant what openpyxl refuses
    to write)."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    done = False
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            data = source.read(info)
            if not done and (part is None or info.filename == part) and re.search(pattern, data):
                data = re.sub(pattern, replacement, data, count=1)
                done = True
            z.writestr(info, data)
    if not done:
        raise ValueError(f"{pattern!r} not found in {path}")
    path.write_bytes(out.getvalue())
    return path


def nul_in_cell(folder: Path) -> Path:
    """`_x0000_` (a NUL) inside a district name, as some exporters write it."""
    rep = report("60", "2024-6T", sheets=(POVERTY,), districts=3, seed=11)
    path = write_xlsx(rep, folder / "nul.xlsx")
    name = rep.poverty_rows[0]["district_name"].encode()
    return _patch_xlsx(path, re.escape(name), name[:3] + b"_x0000_" + name[3:])


def infinity_target(folder: Path) -> Path:
    """A numeric cell holding infinity (`<v>INF</v>`) as a term target."""
    rep = report("60", "2024", seed=12)
    rep.term_rows[0]["target"] = 987654
    path = write_xlsx(rep, folder / "vo_cuc.xlsx", vn_text=False)
    return _patch_xlsx(path, rb"<v>987654</v>", b"<v>inf</v>")


def keyless_row(folder: Path) -> Path:
    """A GiamNgheo row with figures but an empty district cell."""
    rep = report("60", "2024-6T", sheets=(POVERTY,), districts=4, seed=13)
    rep.poverty_rows[2]["district_name"] = None
    return write_xlsx(rep, folder / "thieu_don_vi.xlsx")


def cr_only_csv(folder: Path) -> Path:
    """A good CSV with classic-Mac line ends (CR only)."""
    rep = report("60", "2025-6T", sheets=(POVERTY,), districts=3, seed=14)
    path = write_csv(rep, folder / "cr_only.csv")
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r"))
    return path


def utf16_csv(folder: Path) -> Path:
    """A good CSV saved as UTF-16 (Excel's "Unicode text")."""
    rep = report("60", "2023-6T", sheets=(POVERTY,), districts=3, seed=15)
    path = write_csv(rep, folder / "utf16.csv", bom=False)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    return path


def huge_field_csv(folder: Path) -> Path:
    """A CSV with one field of 200,000 characters (over Python's csv limit of 131,072)."""
    rep = report("60", "2022-6T", sheets=(POVERTY,), districts=3, seed=16)
    rep.poverty_rows[0]["district_name"] = "Bắc Bình " + "x" * 200_000
    return write_csv(rep, folder / "o_dai.csv")


def encrypted_xlsx(folder: Path) -> Path:
    """What Excel writes for a password-protected .xlsx: an OLE container holding the streams
    EncryptionInfo and EncryptedPackage (directory entries in UTF-16)."""
    path = folder / "mat_khau.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    directory = b"".join(name.encode("utf-16-le").ljust(128, b"\0")
                         for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage"))
    path.write_bytes(header + directory + os.urandom(2048))
    return path


def renamed_document(folder: Path) -> Path:
    """A word-processing document (a zip, but not a workbook) renamed to .xlsx."""
    path = folder / "van_ban.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return path


def foreign_workbook(folder: Path) -> Path:
    """A real spreadsheet from another program that is not a report (no ThongTin sheet)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for r in range(1, 30):
        ws.append([f"Mục {r}", r * 3, r * 7.5, f"=B{r}*C{r}"])
    path = folder / "bang_tinh_khac.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def good(inbox: Path, code: str, period: str, name: str, seed: int) -> Path:
    """A good report dropped as an office would."""
    return drop(inbox, report(code, period, seed=seed), name)


def nested_folder(inbox: Path, depth: int = 1200) -> Path:
    """A folder nested `depth` levels, a good file at the bottom (made with relative mkdirs, so
    no path is ever longer than PATH_MAX)."""
    top = inbox / "60" / "sau"
    top.mkdir(parents=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        out = os.open("BC.csv", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, b"M\xc3\xa3 t\xe1\xbb\x89nh;60\n")
        os.close(out)
    finally:
        os.close(fd)
    return top


def remove_tree(path: Path) -> None:
    """shutil.rmtree without recursion (it fails on a folder nested 1,200 levels)."""
    if not os.path.lexists(path):
        return
    stack = [str(path)]
    while stack:
        top = stack[-1]
        with os.scandir(top) as entries:
            subdirs = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        if subdirs:
            stack.extend(subdirs)
            continue
        with os.scandir(top) as entries:
            for e in entries:
                os.unlink(e.path)
        os.rmdir(top)
        stack.pop()


def populate(inbox: Path, outside: Path) -> dict[str, tuple[str, str]]:
    """Drop every hostile case of issue 10 beside good files. Returns, for each dropped path
    (relative to the inbox, as str), (expected event, a case label)."""
    cases: dict[str, tuple[str, str]] = {}

    def add(path: Path, event: str, label: str) -> None:
        cases[os.fsdecode(os.path.relpath(path, inbox))] = (event, label)

    # good files, some with names no program should choke on
    add(good(inbox, "01", "2024", "BC_01_2024.xlsx", 1), "accepted", "good")
    add(good(inbox, "04", "2024", "A" * 250 + ".xlsx", 2), "accepted", "255-byte name")
    add(good(inbox, "08", "2024", os.fsdecode(b"BC_\xff\xfe_2024.xlsx"), 3), "accepted",
        "name not UTF-8")
    add(good(inbox, "10", "2024", ".BC_10_2024.xlsx", 4), "accepted", "leading dot")
    add(good(inbox, "11", "2024", "BC\n11\x1b[31m_2024.xlsx", 5), "accepted",
        "newline and ESC in name")
    add(good(inbox, "12", "2024", "=cmd|' -C calc'!A0.xlsx", 6), "accepted",
        "formula in name")
    future = good(inbox, "14", "2024", "BC_14_tuong_lai.xlsx", 7)
    os.utime(future, (future.stat().st_atime, future.stat().st_mtime + 86400))
    add(future, "accepted", "mtime in the future")
    add(cr_only_csv(inbox / "60"), "accepted", "CSV with CR-only line ends")
    add(utf16_csv(inbox / "60"), "accepted", "UTF-16 CSV")

    # bad files: each quarantined with a report
    bad = inbox / "15"
    add(sparse_extremes(bad), "rejected", "cells at A1 and XFD1048576")
    add(sparse_extremes(bad, None), "rejected", "A1 + XFD1048576, no <dimension>")
    add(million_cells(bad), "rejected", "3 million cells")
    add(whitespace_bomb(bad), "rejected", "whitespace bomb")
    add(csv_separator_bomb(bad), "rejected", "CSV of 8 MB of separators")
    add(sparse_huge(bad), "rejected", "9 GB file")
    add(million_rows_csv(bad), "rejected", "a million rows")
    add(nul_in_cell(inbox / "60"), "rejected", "_x0000_ in a cell")
    add(infinity_target(inbox / "60"), "rejected", "infinite target")
    add(keyless_row(inbox / "60"), "rejected", "row with figures but no district")
    add(huge_field_csv(inbox / "60"), "rejected", "CSV field of 200,000 characters")
    add(encrypted_xlsx(bad), "rejected", "encrypted workbook")
    add(renamed_document(bad), "rejected", "document renamed .xlsx")
    add(foreign_workbook(bad), "rejected", "foreign workbook")
    long_bad = bad / ("B" * 250 + ".xlsx")
    long_bad.write_bytes(b"not a workbook")
    add(long_bad, "rejected", "255-byte name, bad content (report name must fit)")
    report_like = bad / "BC_15.xlsx.errors.txt"
    report_like.write_text("a report sent back", encoding="utf-8")
    add(report_like, "rejected", "name ending in .errors.txt")
    add(nested_folder(inbox), "rejected", "folder nested 1,200 levels")

    # escapes: refused, never read, moved or deleted
    (outside / "tinh").mkdir(parents=True)
    good(outside / "tinh", "33", "2024", "BC_33.xlsx", 8)
    secret = outside / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    elsewhere = good(outside, "60", "2021", "BC_60_elsewhere.xlsx", 9)
    (inbox / "33").symlink_to(outside / "tinh" / "33", target_is_directory=True)
    add(inbox / "33", "refused", "province folder is a symlink")
    (inbox / "60" / "passwd.xlsx").symlink_to(secret)
    add(inbox / "60" / "passwd.xlsx", "refused", "file symlink to a private file")
    (inbox / "60" / "BC_link.xlsx").symlink_to(elsewhere)
    add(inbox / "60" / "BC_link.xlsx", "refused", "file symlink to a workbook elsewhere")
    os.mkfifo(inbox / "60" / "ong.csv")
    add(inbox / "60" / "ong.csv", "refused", "a named pipe")
    return cases
