"""Excel data validation for the template's input cells: contract §3 where one cell can check it.

Each input column gets one validation, with a Vietnamese input message (shown when the cell is
selected) and a stop message (shown when a wrong value is typed). The rules come from where the
warehouse keeps them: the value kinds of `layout` (counts whole and >= 0, money and scores
>= 0) and the GX suites' `<=` column pairs of one row (e.g. `Hộ thoát nghèo` <= `Hộ nghèo đầu
kỳ`), so the form and the checks after sending cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ingest.model import EMULATION, POVERTY
from ingest.read.layout import SHEETS, Column

TEXT_MAX = 255  # a longer note or name is a paragraph pasted into the wrong cell
_EXCEL_EPOCH = date(1899, 12, 30)
_BLANK_MEANS = "Để trống nếu không báo cáo (ô trống không phải số 0)."


@dataclass(frozen=True)
class Check:
    """One Excel data validation: what openpyxl writes, with its Vietnamese messages."""

    type: str  # whole | decimal | list | date | textLength | custom
    operator: str | None
    formula1: str
    formula2: str | None
    title: str  # the column it guards (input and error titles: Excel allows 32 characters)
    prompt: str  # input message (Excel allows 255 characters)
    error: str  # stop message (Excel allows 255 characters)


def bounds(kind: str) -> list[tuple[str, str]]:
    """(left, right) column pairs with `left <= right` on one row of this sheet kind, from the
    GX suites."""
    from ingest.validate.suites import column_bounds

    return column_bounds(kind) if kind in (POVERTY, EMULATION) else []


def excel_date(day: date) -> str:
    """A date as Excel's serial number: validation formulas hold numbers, not locale text."""
    return str((day - _EXCEL_EPOCH).days)


def _title(column: Column) -> str:
    return column.label[:32]


def count(column: Column) -> Check:
    return Check("whole", "greaterThanOrEqual", "0", None, _title(column),
                 f"Số nguyên ≥ 0, ví dụ 1.284. {_BLANK_MEANS}",
                 f"'{column.label}' là số đếm: phải là số nguyên ≥ 0 (không âm, không có phần "
                 "thập phân).")


def money(column: Column) -> Check:
    """Money in whole triệu đồng: an Excel set to English reads a typed 1.284 as 1,284, and a
    whole-number rule refuses it there instead of storing a thousandth of the amount."""
    return Check("whole", "greaterThanOrEqual", "0", None, _title(column),
                 f"Số nguyên triệu đồng ≥ 0, ví dụ 1284 (= 1.284 triệu đồng). {_BLANK_MEANS}",
                 f"'{column.label}' là số triệu đồng, số nguyên ≥ 0. Nếu bạn gõ 1.284 mà bị "
                 "từ chối, máy đang dùng dấu chấm làm dấu thập phân: hãy gõ 1284.")


def number(column: Column, what: str = "Số") -> Check:
    return Check("decimal", "greaterThanOrEqual", "0", None, _title(column),
                 f"{what} ≥ 0, ví dụ 1.284 hoặc 11,54. {_BLANK_MEANS}",
                 f"'{column.label}' phải là một số ≥ 0 (không âm).")


def score(column: Column, maximum: Column, max_ref: str) -> Check:
    return Check("decimal", "between", "0", max_ref, _title(column),
                 f"Điểm từ 0 đến '{maximum.label}' của dòng này.",
                 f"'{column.label}' phải từ 0 đến '{maximum.label}' của dòng này.")


def bounded_count(column: Column, ref: str, refs: dict[str, str],
                  pairs: list[tuple[str, str]]) -> Check:
    """A count that must also be <= (or >=) other columns of its row: one custom formula."""
    lay = SHEETS[POVERTY]
    terms = [f"{ref}>=0", f"{ref}=INT({ref})"]
    said = []
    for left, right in pairs:
        if left == column.name:
            other, op, words = right, "<=", "không lớn hơn"
        elif right == column.name:
            other, op, words = left, ">=", "không nhỏ hơn"
        else:
            continue
        terms.append(f"OR(ISBLANK({refs[other]}),{ref}{op}{refs[other]})")
        said.append(f"{words} '{lay.column(other).label}'")
    # IF first: INT() of a text is an error, which would make AND() an error; IF() without
    # an else is FALSE (LibreOffice would rewrite a written FALSE as 0)
    return Check("custom", None, f"IF(ISNUMBER({ref}),AND({','.join(terms)}))", None,
                 _title(column),
                 f"Số nguyên ≥ 0, {', '.join(said)} (cùng dòng). {_BLANK_MEANS}",
                 f"'{column.label}' phải là số nguyên ≥ 0 và {', '.join(said)} của cùng đơn vị.")


def unit_name(column: Column, ref: str, whole_column: str, unit_words: str) -> Check:
    return Check("custom", None, f"AND(LEN({ref})<={TEXT_MAX},COUNTIF({whole_column},{ref})=1)",
                 None, _title(column),
                 f"Tên {unit_words}, mỗi đơn vị một dòng. Có thể thêm dòng tổng "
                 "('Tổng cộng').",
                 f"Đơn vị này đã có ở một dòng khác: mỗi {unit_words.split(' / ')[0]} chỉ ghi "
                 "một dòng.")


def term_target(column: Column, whole: bool) -> Check:
    if whole:
        return count(column)
    return number(column, "Tỷ lệ hoặc số")


def term_result(column: Column, ref: str, whole: bool) -> Check:
    number_ok = f"AND({ref}>=0,{ref}=INT({ref}))" if whole else f"{ref}>=0"
    fraction_ok = f'ISNUMBER(SEARCH("/",{ref}))'
    kind = "số nguyên ≥ 0" if whole else "số hoặc tỷ lệ % ≥ 0"
    return Check("custom", None, f"IF(ISNUMBER({ref}),{number_ok},{fraction_ok})", None,
                 _title(column),
                 f"Kết quả lũy kế từ đầu nhiệm kỳ: {kind} (ví dụ "
                 f"{'3.562' if whole else '71%'}) hoặc phân số đạt/tổng (ví dụ 3.562/5.000).",
                 f"'{column.label}' phải là {kind} hoặc phân số đạt/tổng như 3.562/5.000.")


def codes(column: Column, allowed: list[str]) -> Check:
    return Check("list", None, f'"{",".join(allowed)}"', None, _title(column),
                 "Mã theo danh mục; không sửa.",
                 f"'{column.label}' phải là một mã trong danh mục: {', '.join(allowed)}.")


def added_code(column: Column, allowed: list[str]) -> Check:
    """A spare row's code: an indicator of the resolution the pre-filled rows do not list."""
    return Check("list", None, f'"{",".join(allowed)}"', None, _title(column),
                 "Chỉ dùng khi nghị quyết có thêm chỉ tiêu chưa có ở trên: chọn mã trong danh "
                 "mục.",
                 f"'{column.label}' phải là một mã trong danh mục: {', '.join(allowed)}.")


def text(column: Column) -> Check:
    return Check("textLength", "lessThanOrEqual", str(TEXT_MAX), None, _title(column),
                 f"Ghi chú ngắn (tối đa {TEXT_MAX} ký tự).",
                 f"'{column.label}' dài quá {TEXT_MAX} ký tự.")


def info_text(label: str) -> Check:
    return Check("textLength", "lessThanOrEqual", str(TEXT_MAX), None, label[:32],
                 f"Tối đa {TEXT_MAX} ký tự.", f"'{label}' dài quá {TEXT_MAX} ký tự.")


def report_date(label: str, earliest: date) -> Check:
    return Check("date", "greaterThanOrEqual", excel_date(earliest), None, label[:32],
                 "Ngày lập báo cáo, dạng dd/mm/yyyy (ví dụ 10/12/2025).",
                 f"'{label}' phải là một ngày (dd/mm/yyyy), không trước "
                 f"{earliest:%d/%m/%Y} (ngày đầu kỳ báo cáo).")


def add(ws, check: Check, sqref: str) -> None:
    """Attach `check` to the cells of `sqref` (its formulas are relative to the first cell)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    for message in (check.prompt, check.error):
        assert len(message) <= 255, message  # Excel refuses longer messages
    dv = DataValidation(
        type=check.type, operator=check.operator, formula1=check.formula1,
        formula2=check.formula2, allow_blank=True, showInputMessage=True,
        showErrorMessage=True, errorStyle="stop", promptTitle=check.title, prompt=check.prompt,
        errorTitle="Giá trị không hợp lệ", error=check.error, sqref=sqref,
    )
    ws.add_data_validation(dv)
