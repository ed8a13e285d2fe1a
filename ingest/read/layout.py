"""The workbook layout of contract §2: sheet names, labels and headers, matched loosely.

Matching ignores case, diacritics, spacing, line breaks and a trailing unit in parentheses,
so "Mã chỉ tiêu", "MA CHI TIEU" and "Ma  chi\ntieu" are the same header. Reading takes every
sheet name, label and header from here, and so does the template (`ingest/template/`); only
the sample workbooks (`ingest/samples.py`) spell the ThongTin labels out themselves, as offices do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

# Sheet kinds, named after the raw tables they load into (`ingest.model` passes them on).
TERM = "term_indicators"
EMULATION = "emulation_scores"
POVERTY = "poverty_support"
SHEET_KINDS = (TERM, EMULATION, POVERTY)
INFO_SHEET = "ThongTin"

ValueKind = Literal["text", "code", "count", "number", "money", "score", "result"]

_PARENS = re.compile(r"\([^)]*\)")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: object) -> str:
    """Lower-case ASCII letters and digits only: the key every label is compared by."""
    if text is None:
        return ""
    return _fold(text if isinstance(text, str) else str(text))


def strip_diacritics(text: str) -> str:
    """'Mã chỉ tiêu' -> 'Ma chi tieu' (đ/Đ included)."""
    s = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in s if unicodedata.category(c) != "Mn")


@lru_cache(maxsize=65536)  # the same labels come back in every workbook
def _fold(text: str) -> str:
    return _NON_WORD.sub("", strip_diacritics(text).lower())


def header_key(text: object) -> str:
    """Fold a header after dropping its unit in parentheses, e.g. "(triệu đồng)"."""
    if not text:
        return ""
    return _header_key(text if isinstance(text, str) else str(text))


@lru_cache(maxsize=65536)
def _header_key(text: str) -> str:
    return fold(_PARENS.sub(" ", text))


def money_multiplier(header: str) -> int:
    """VND per unit written in a money header; a header naming no unit is in the contract's
    unit, triệu đồng."""
    units = [fold(u) for u in re.findall(r"\(([^)]*)\)", header or "")]
    for unit in units:
        if unit.startswith("ty"):
            return 1_000_000_000
        if unit.startswith("trieu"):
            return 1_000_000
        if unit.startswith("nghin") or unit.startswith("ngan"):
            return 1_000
        if unit in {"dong", "vnd", "vnđ"}:
            return 1
    return 1_000_000


@dataclass(frozen=True)
class Column:
    name: str  # canonical name: the raw table's column
    label: str  # the header of contract §2
    kind: ValueKind
    required: bool = True

    @property
    def key(self) -> str:
        return header_key(self.label)


@dataclass(frozen=True)
class SheetLayout:
    kind: str  # TERM, EMULATION or POVERTY: the raw table
    sheet_name: str  # the contract's sheet name
    columns: tuple[Column, ...]
    key_column: str  # the column that identifies a row (code or district)
    by_key: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_key", {c.key: c for c in self.columns})

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def match(self, header: object) -> Column | None:
        return self.by_key.get(header_key(header))


SHEETS: dict[str, SheetLayout] = {
    TERM: SheetLayout(TERM, "ChiTieu", (
        Column("indicator_code", "Mã chỉ tiêu", "code"),
        Column("indicator_text", "Nội dung chỉ tiêu", "text", required=False),
        Column("unit_text", "Đơn vị tính", "text", required=False),
        Column("target_value", "Chỉ tiêu nhiệm kỳ", "number"),
        Column("actual_value", "Kết quả lũy kế", "result"),
        Column("note", "Ghi chú", "text", required=False),
    ), key_column="indicator_code"),
    EMULATION: SheetLayout(EMULATION, "ThiDua", (
        Column("criterion_code", "Mã tiêu chí", "code"),
        Column("criterion_text", "Nội dung tiêu chí", "text", required=False),
        Column("max_points", "Điểm chuẩn", "score"),
        Column("self_points", "Điểm tự chấm", "score"),
        Column("reviewed_points", "Điểm cụm thẩm định", "score", required=False),
    ), key_column="criterion_code"),
    POVERTY: SheetLayout(POVERTY, "GiamNgheo", (
        Column("district_name", "Đơn vị", "text"),
        Column("poor_households_start", "Hộ nghèo đầu kỳ", "count"),
        Column("female_headed_poor", "Hộ nghèo do phụ nữ làm chủ hộ", "count"),
        Column("households_out_of_poverty", "Hộ thoát nghèo", "count"),
        Column("households_out_of_near_poverty", "Hộ thoát cận nghèo", "count"),
        Column("female_headed_out_of_poverty", "Hộ PN làm chủ hộ thoát nghèo", "count"),
        Column("charity_homes", "Mái ấm tình thương (căn)", "count"),
        Column("charity_homes_vnd", "Kinh phí mái ấm (triệu đồng)", "money"),
        Column("policy_loan_households", "Hộ vay vốn NHCSXH", "count"),
        Column("policy_loan_outstanding_vnd", "Dư nợ ủy thác (triệu đồng)", "money"),
        Column("livelihood_packages", "Sinh kế trao tặng (suất)", "count"),
        Column("five_no_three_clean_households", "Gia đình 5 không 3 sạch (hộ)", "count"),
        Column("savings_loan_groups", "Tổ tiết kiệm và vay vốn (tổ)", "count", required=False),
        Column("overdue_loans_vnd", "Nợ quá hạn (triệu đồng)", "money", required=False),
    ), key_column="district_name"),
}

_SHEET_KEYS = {fold(layout.sheet_name): kind for kind, layout in SHEETS.items()}


def sheet_kind(sheet_name: str) -> str | None:
    """TERM / EMULATION / POVERTY for a data sheet name, INFO_SHEET for ThongTin, else None."""
    key = fold(sheet_name)
    if key == fold(INFO_SHEET):
        return INFO_SHEET
    return _SHEET_KEYS.get(key)


# Sheet ThongTin: label -> field of ReportInfo. "Điện thoại / Email" may also be split in two.
INFO_LABELS: dict[str, tuple[str, bool]] = {
    "Mã tỉnh": ("province_code", True),
    "Tên tỉnh": ("province_name", True),
    "Kỳ báo cáo": ("period", True),
    "Nhiệm kỳ": ("term", True),
    "Ngày lập": ("report_date", True),
    "Người lập": ("prepared_by", False),
    "Điện thoại / Email": ("contact", False),
    "Điện thoại": ("contact", False),
    "Email": ("contact", False),
}
INFO_KEYS = {fold(label): field for label, (field, _) in INFO_LABELS.items()}
REQUIRED_INFO = {field: label for label, (field, required) in INFO_LABELS.items() if required}

# First cell of a total row.
TOTAL_KEYS = {fold(t) for t in ("Tổng cộng", "Toàn tỉnh", "Cộng", "Tổng", "Tổng số")}


def is_total_label(text: object) -> bool:
    return fold(text) in TOTAL_KEYS
