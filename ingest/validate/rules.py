"""The rule table (contract §3): what relates two values, in the style of DHIS2 rules.

Each rule compares a left side with a right side (`left op right`) over one frame of the run
(see `frames.RunFrames`): ThongTin and the inbox folder (one row per file), the GiamNgheo district
rows, the ThiDua rows, the GiamNgheo total rows beside their district sums, and each value
beside the province's own history (`history.score_frame`). Column-level checks (codes,
duplicates, signs, whole numbers) are the GX suites in `expectations/` (`suites.py`).

A rule is skipped where either side is missing (empty cells are other checks' business) or where
its `when` column is not true. Each rule runs on its own: one that crashes is reported as a
fault of that rule (`run.py`), the others still run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ingest import settings
from ingest.model import EMULATION, INFO_SHEET, POVERTY, TERM, Finding, ParsedFile, Severity
from ingest.read import layout
from ingest.validate.frames import RunFrames
from ingest.validate.history import HISTORY_COLUMNS, MAD_FLOOR, OUTLIER_Z, score_frame
from ingest.validate.placement import (
    Place,
    Texts,
    at_cell,
    at_info,
    finding,
    missing,
    number_text,
)

# Scopes: which frame a rule runs over.
INFO = "info"  # one row per file: ThongTin and the inbox folder
DISTRICTS = "districts"  # GiamNgheo district rows (the total row is checked by TOTALS)
SCORES = "scores"  # ThiDua rows
TOTALS = "totals"  # one row per GiamNgheo total-row cell, beside the sum of the district rows
HISTORY = "history"  # one row per value that has a history for its province

# the sheet a scope's rows are in (HISTORY: per row, by its column)
SCOPE_SHEET = {INFO: INFO_SHEET, DISTRICTS: POVERTY, SCORES: EMULATION, TOTALS: POVERTY}


@dataclass(frozen=True)
class Lit:
    """A literal right side."""

    value: object


@dataclass(frozen=True)
class Rule:
    name: str
    scope: str
    left: str  # a column of the scope's frame: the value checked
    op: str  # <=, >=, ==, !=, in, between, not_null
    right: str | Lit | tuple[str, str] | None
    severity: Severity
    message_vi: str  # templates: {value} is the left side as written, other names are columns
    message_en: str
    expected_vi: str
    expected_en: str
    when: str | None = None  # a boolean column: the rule applies where it is true
    at: str | None = None  # where the finding is placed (ThongTin field); default: left

    @property
    def texts(self) -> Texts:
        return Texts(self.message_vi, self.message_en, self.expected_vi, self.expected_en)


_Z_VI = f"{OUTLIER_Z:g}".replace(".", ",")
_FLOOR = f"{MAD_FLOOR:.0%}"

RULES: tuple[Rule, ...] = (
    # ---- ThongTin and the inbox folder
    Rule("inbox_folder", INFO, "folder", "!=", Lit(""), "error",
         "Tệp được đặt ở thư mục gốc của hộp thư. Hãy đặt tệp vào thư mục mang mã tỉnh của "
         "đơn vị mình (ví dụ {example_folder}/).",
         "The file was dropped at the top of the inbox. Put it in the folder of your province "
         "code (e.g. {example_folder}/).",
         "tệp nằm trong thư mục <mã tỉnh>/", "the file inside the <province code>/ folder",
         at="province_code"),
    Rule("period_format", INFO, "period_code", "not_null", None, "error",
         "Kỳ báo cáo '{period}' không đúng định dạng.",
         "Report period '{period}' is malformed.",
         "YYYY, YYYY-6T, GK-YYYY hoặc TK-YYYY (ví dụ 2024, 2025-6T)",
         "YYYY, YYYY-6T, GK-YYYY or TK-YYYY (e.g. 2024, 2025-6T)",
         when="period_given", at="period"),
    Rule("term_format", INFO, "term_code", "not_null", None, "error",
         "Nhiệm kỳ '{term}' không đúng định dạng.",
         "Term '{term}' is malformed.",
         "YYYY-YYYY, ví dụ 2021-2026", "YYYY-YYYY, e.g. 2021-2026",
         when="term_given", at="term"),
    Rule("period_outside_term", INFO, "period_year", "between", ("term_start", "term_end"), "error",
         "Kỳ báo cáo {period} nằm ngoài nhiệm kỳ {term}.",
         "Report period {period} is outside the term {term}.",
         "một kỳ trong nhiệm kỳ {term}", "a period within the term {term}",
         at="period"),
    Rule("period_in_future", INFO, "period_start", "<=", "today", "error",
         "Kỳ báo cáo {period} chưa bắt đầu (hôm nay là {today_text}).",
         "Report period {period} has not started yet (today is {today_text}).",
         "một kỳ đã bắt đầu", "a period that has started",
         at="period"),
    Rule("unknown_province", INFO, "province_code", "in", "valid_codes", "error",
         "Mã tỉnh '{province_code}' không có trong danh sách {code_set_vi}.",
         "Province code '{province_code}' is not one of {code_set_en}.",
         "một mã trong {code_set_vi}", "one of {code_set_en}",
         when="code_not_ended"),
    # contract §1, §3: a code that ended on 1 July 2025 names the province it became (a mid- or
    # end-of-term review dated after the merger included)
    Rule("province_code_ended", INFO, "code_ended", "==", Lit(False), "error",
         "Mã tỉnh '{province_code}' ({old_province_name}) đã thôi dùng từ 01/07/2025: tỉnh nay "
         "thuộc {became_name} (mã {became_code}). Kỳ {period} kết thúc sau ngày sáp nhập nên "
         "phải do Hội LHPN {became_name} báo cáo với mã {became_code}.",
         "Province code '{province_code}' ({old_province_name}) ended on 1 July 2025: it is now "
         "part of {became_name} (code {became_code}). Period {period} ends after the merger, so "
         "it is reported by {became_name} under code {became_code}.",
         "{became_code} ({became_name})", "{became_code} ({became_name})",
         at="province_code"),
    Rule("term_after_reform", INFO, "term_canonical", "==", "expected_term", "error",
         "Nhiệm kỳ '{term}' không đúng với kỳ {period}: từ báo cáo năm 2025, 34 tỉnh, thành "
         "báo cáo theo nhiệm kỳ {expected_term} (đại hội phụ nữ tỉnh tháng 11-12/2025).",
         "Term '{term}' does not fit period {period}: from the 2025 annual report on, the 34 "
         "provinces report in the term {expected_term} (provincial congresses of "
         "November-December 2025).",
         "{expected_term}", "{expected_term}",
         when="term_after_reform", at="term"),
    Rule("folder_mismatch", INFO, "province_code", "==", "folder", "error",
         "Mã tỉnh khai báo '{province_code}' khác thư mục gửi '{folder}/': một tỉnh không thể "
         "báo cáo thay tỉnh khác.",
         "Declared province code '{province_code}' differs from the folder '{folder}/' it was "
         "sent from: a province cannot report for another one.",
         "{folder} (mã của thư mục gửi)", "{folder} (the code of the sending folder)",
         when="folder_given"),
    Rule("emulation_not_annual", INFO, "period_kind", "==", Lit("annual"), "error",
         "Sheet '{emulation_sheet}' (chấm điểm thi đua) chỉ có trong báo cáo năm; kỳ báo cáo "
         "là {period}. Hãy bỏ sheet này hoặc sửa kỳ báo cáo.",
         "Sheet '{emulation_sheet}' (emulation scoring) belongs to annual reports only; the "
         "period is {period}. Remove the sheet or correct the period.",
         "kỳ báo cáo năm (YYYY)", "an annual period (YYYY)",
         when="has_emulation", at="period"),
    Rule("report_date_before_period", INFO, "report_date", ">=", "period_start", "warning",
         "Ngày lập {report_date_text} trước khi kỳ báo cáo {period} bắt đầu "
         "({period_start_text}): có phải tệp của kỳ trước, chỉ sửa Kỳ báo cáo? Hãy kiểm tra "
         "Ngày lập và số liệu.",
         "The report date {report_date_text} is before the period {period} begins "
         "({period_start_text}): is this an earlier period's file with only the period "
         "changed? Check the date and the figures.",
         "từ {period_start_text} trở đi", "on or after {period_start_text}",
         when="report_date_given", at="report_date"),
    Rule("report_date_late", INFO, "report_date", "<=", "late_limit", "warning",
         "Ngày lập {report_date_text} muộn hơn một năm sau khi kỳ báo cáo {period} kết thúc "
         "({period_end_text}). Hãy kiểm tra Ngày lập.",
         "The report date {report_date_text} is more than a year after the period {period} "
         "ends ({period_end_text}). Check the date.",
         "đến {late_limit_text}", "by {late_limit_text}",
         when="report_date_given", at="report_date"),
    Rule("file_name_year", INFO, "file_year", "==", "period_year", "warning",
         "Tên tệp '{file_name}' ghi năm {file_year} nhưng Kỳ báo cáo là {period}: có phải gửi "
         "nhầm tệp, hoặc quên sửa Kỳ báo cáo? Hãy kiểm tra.",
         "The file name '{file_name}' names the year {file_year} but the period is {period}: "
         "is it the wrong file, or was the period not updated? Please check.",
         "năm {period_year} (như Kỳ báo cáo)", "the year {period_year} (as the period)",
         when="names_year", at="period"),
    # ---- GiamNgheo, each district row
    Rule("out_of_poverty_gt_poor", DISTRICTS, "households_out_of_poverty", "<=",
         "poor_households_start", "error",
         "Hộ thoát nghèo ({value}) lớn hơn Hộ nghèo đầu kỳ ({right}).",
         "Households out of poverty ({value}) exceed poor households at start ({right}).",
         "≤ {right} (Hộ nghèo đầu kỳ)", "≤ {right} (poor households at start)"),
    Rule("female_out_gt_out", DISTRICTS, "female_headed_out_of_poverty", "<=",
         "households_out_of_poverty", "error",
         "Hộ PN làm chủ hộ thoát nghèo ({value}) lớn hơn Hộ thoát nghèo ({right}).",
         "Female-headed households out of poverty ({value}) exceed households out of "
         "poverty ({right}).",
         "≤ {right} (Hộ thoát nghèo)", "≤ {right} (households out of poverty)"),
    Rule("female_out_gt_female_poor", DISTRICTS, "female_headed_out_of_poverty", "<=",
         "female_headed_poor", "error",
         "Hộ PN làm chủ hộ thoát nghèo ({value}) lớn hơn Hộ nghèo do phụ nữ làm chủ hộ ({right}).",
         "Female-headed households out of poverty ({value}) exceed female-headed poor "
         "households ({right}).",
         "≤ {right} (Hộ nghèo do phụ nữ làm chủ hộ)", "≤ {right} (female-headed poor households)"),
    Rule("overdue_gt_outstanding", DISTRICTS, "overdue_loans_vnd", "<=",
         "policy_loan_outstanding_vnd", "error",
         "Nợ quá hạn ({value}) lớn hơn Dư nợ ủy thác ({right}).",
         "Overdue debt ({value}) exceeds the outstanding entrusted loans ({right}).",
         "≤ {right} (Dư nợ ủy thác)", "≤ {right} (outstanding entrusted loans)"),
    # ---- GiamNgheo units from the 2025 annual report on: communes of the province (§2)
    Rule("unknown_commune", DISTRICTS, "commune_status", "!=", Lit("unknown"), "error",
         "Đơn vị '{value}' không phải là xã, phường hoặc đặc khu của {province_name_2025} "
         "trong danh mục từ 01/07/2025. {suggest_vi}",
         "Unit '{value}' is not a commune, ward or special zone of {province_name_2025} in the "
         "list in force from 1 July 2025. {suggest_en}",
         "tên một xã, phường, đặc khu của {province_name_2025}",
         "the name of a commune, ward or special zone of {province_name_2025}",
         when="commune_check", at="district_name"),
    Rule("ambiguous_commune", DISTRICTS, "commune_status", "!=", Lit("ambiguous"), "error",
         "Đơn vị '{value}' có thể là {candidates_vi} của {province_name_2025}: hãy ghi đúng tên "
         "có dấu và loại đơn vị (Xã, Phường, Đặc khu).",
         "Unit '{value}' may be {candidates_en} of {province_name_2025}: write the name with its "
         "diacritics and its type (Xã, Phường, Đặc khu).",
         "{candidates_vi}", "{candidates_en}",
         when="commune_check", at="district_name"),
    Rule("commune_other_province", DISTRICTS, "commune_status", "!=", Lit("other_province"),
         "error",
         "Đơn vị '{value}' thuộc tỉnh khác: {other_province_vi}, không thuộc "
         "{province_name_2025}. {own_suggest_vi}",
         "Unit '{value}' belongs to another province: {other_province_en}, not to "
         "{province_name_2025}. {own_suggest_en}",
         "tên một xã, phường, đặc khu của {province_name_2025}",
         "the name of a commune, ward or special zone of {province_name_2025}",
         when="commune_check", at="district_name"),
    Rule("duplicate_key", DISTRICTS, "commune_repeat", "==", Lit(False), "error",
         "Đơn vị '{value}' đã có ở dòng {first_row} (cùng một xã, phường): mỗi đơn vị chỉ một "
         "dòng.",
         "Unit '{value}' is already on row {first_row} (the same commune): one row per unit.",
         "mỗi đơn vị chỉ một dòng", "each unit on one row only",
         when="commune_repeat", at="district_name"),
    # ---- ThiDua, each criterion row
    Rule("self_points_over_max", SCORES, "self_points", "<=", "max_points", "error",
         "Điểm tự chấm ({value}) lớn hơn Điểm chuẩn ({right}).",
         "Self-assessed points ({value}) exceed the maximum points ({right}).",
         "từ 0 đến {right}", "from 0 to {right}"),
    Rule("reviewed_points_over_max", SCORES, "reviewed_points", "<=", "max_points", "error",
         "Điểm cụm thẩm định ({value}) lớn hơn Điểm chuẩn ({right}).",
         "Cluster-reviewed points ({value}) exceed the maximum points ({right}).",
         "từ 0 đến {right}", "from 0 to {right}"),
    # ---- GiamNgheo total row against the district rows
    Rule("total_not_sum", TOTALS, "total", "==", "district_sum", "warning",
         "Dòng tổng ({value}) khác tổng các đơn vị ({right}); hệ thống dùng tổng các đơn vị.",
         "The total row ({value}) differs from the sum of the district rows ({right}); "
         "the sum is used.",
         "{right} (tổng các đơn vị)", "{right} (sum of the district rows)"),
    # ---- each value against the province's own history (history.py says how it is scored)
    Rule("outlier", HISTORY, "abs_modified_z", "<=", Lit(OUTLIER_Z), "warning",
         "{subject_vi} {value} bất thường so với {history_n} kỳ trước cùng loại của tỉnh: "
         "trung vị {median_text}, điểm z hiệu chỉnh {z_text} (ngưỡng " + _Z_VI + "; độ lệch "
         "tuyệt đối trung vị tính ít nhất bằng " + _FLOOR + " trung vị). Hãy kiểm tra lại.",
         "{subject_en} {value} is unusual against the province's {history_n} earlier periods "
         "of the same kind: median {median_text}, modified z-score {z_text} (threshold "
         f"{OUTLIER_Z:g}; the median absolute deviation taken as at least {_FLOOR} of the "
         "median). Please check it.",
         "gần {median_text} (z hiệu chỉnh ≤ " + _Z_VI + ")",
         f"near {{median_text}} (modified z-score ≤ {OUTLIER_Z:g})",
         when="has_history"),
)

_OPS: dict[str, Callable] = {"<=": operator.le, ">=": operator.ge, "==": operator.eq,
                             "!=": operator.ne}
_MONEY = {c.name for c in layout.SHEETS[POVERTY].columns if c.kind == "money"}
_INBOX_TOP = "(thư mục gốc / inbox top)"  # what inbox_folder quotes: the folder, not a cell


# ---------------------------------------------------------------- evaluation

def _present(values: Iterable) -> np.ndarray:
    return np.array([not missing(v) for v in values], dtype=bool)


def _side(frame: pd.DataFrame, side) -> list:
    if isinstance(side, Lit):
        return [side.value] * len(frame)
    return frame[side].tolist()


def violations(rule: Rule, frame: pd.DataFrame) -> pd.Index:
    """Index labels of the rows of `frame` that break `rule`."""
    if frame.empty:
        return frame.index
    rows = frame
    if rule.when:
        rows = rows[np.array([v is True or v == 1 for v in rows[rule.when]], dtype=bool)]
    left = rows[rule.left].tolist()
    present = _present(left)
    if rule.op == "not_null":
        return rows.index[~present]
    if rule.op == "between":
        low, high = (rows[c].tolist() for c in rule.right)
        present &= _present(low) & _present(high)
        broken = [p and not (lo <= x <= hi) for p, x, lo, hi in zip(present, left, low, high,
                                                                    strict=True)]
        return rows.index[np.array(broken, dtype=bool)]
    right = _side(rows, rule.right)
    present &= _present(right)
    if rule.op == "in":
        ok = [x in s for x, s in zip(left, right, strict=True)]
    elif rule.op == "==" and all(isinstance(x, float) for x in left):
        ok = np.isclose(np.array(left, dtype=float), np.array(right, dtype=float),
                        rtol=1e-9, atol=1e-6)
    else:
        ok = [bool(_OPS[rule.op](x, y)) if p else True
              for p, x, y in zip(present, left, right, strict=True)]
    return rows.index[present & ~np.array(ok, dtype=bool)]


def _scope_frame(frames: RunFrames, history: pd.DataFrame, scope: str) -> pd.DataFrame:
    if scope == HISTORY:
        return score_frame(frames, history)
    return {INFO: lambda: frames.info, DISTRICTS: lambda: frames.districts,
            SCORES: lambda: frames.scores, TOTALS: lambda: frames.totals}[scope]()


def _scale(parsed, kind: str, column: str) -> float:
    """Money is stored in VND; a report quotes it in the unit its header names."""
    if column not in _MONEY:
        return 1.0
    return float(layout.money_multiplier(parsed.sheets[kind].headers.get(column) or ""))


def _placed(rule: Rule, frames: RunFrames, row: pd.Series) -> tuple[Place, dict]:
    """Where a violation of `rule` at `row` is placed, and the fields of its message."""
    parsed = frames.files[int(row["_file"])]
    fields = row.to_dict()
    if rule.scope == INFO:
        place = at_info(parsed, rule.at or rule.left)
        if rule.name == "inbox_folder":
            place = Place(place.sheet, place.excel_row, place.column, _INBOX_TOP)
        elif place.value is None and not missing(row[rule.left]):
            fields["value"] = str(row[rule.left])
        return place, fields
    if rule.scope in (DISTRICTS, SCORES):
        kind = SCOPE_SHEET[rule.scope]
        place = at_cell(parsed, kind, row["excel_row"], rule.at or rule.left)
        right = at_cell(parsed, kind, row["excel_row"], rule.right).value if isinstance(
            rule.right, str) else None
        fields.update(value=place.value or number_text(row[rule.left]),
                      right=right or number_text(row.get(rule.right)))
        return place, fields
    column = row["_column"]
    if rule.scope == TOTALS:
        scale = _scale(parsed, POVERTY, column)
        place = at_cell(parsed, POVERTY, row["excel_row"], column)
        fields.update(value=place.value or number_text(row["total"] / scale),
                      right=number_text(row["district_sum"] / scale))
        return place, fields
    # HISTORY: a ChiTieu result is its cell; a GiamNgheo measure is the district rows' sum,
    # placed on the total row when there is one
    kind = TERM if column == "actual_value" else POVERTY
    scale = _scale(parsed, kind, column)
    place = at_cell(parsed, kind, row["excel_row"], column)
    if kind == TERM:
        fields.update(value=place.value or number_text(row["value"]),
                      subject_vi="Giá trị", subject_en="Value")
    else:
        fields.update(value=number_text(row["value"] / scale),
                      subject_vi="Tổng các đơn vị", subject_en="The sum of the district rows")
    fields["median_text"] = number_text(row["median"] / scale)
    return place, fields


def _repeats_an_error(rule: Rule, frames: RunFrames, row: pd.Series) -> bool:
    """Whether this violation only follows from a cell an error already names (a negative or
    not-whole count, a duplicate unit): one mistake gives one finding."""
    if not frames.broken or rule.scope == INFO:
        return False
    file = int(row["_file"])
    if rule.scope in (DISTRICTS, SCORES):
        columns = (rule.left, rule.right if isinstance(rule.right, str) else None)
        return frames.is_broken(file, SCOPE_SHEET[rule.scope], row["excel_row"], columns)
    if rule.scope == HISTORY and row["_column"] == "actual_value":
        return frames.is_broken(file, TERM, row["excel_row"], ("actual_value",))
    # a total or a sum over district rows of which one is wrong says nothing more
    return frames.is_broken(file, POVERTY)


def evaluate_rule(rule: Rule, frames: RunFrames, history: pd.DataFrame) -> list[
        tuple[int, Finding]]:
    """The findings of one rule over the run: (file position, finding). `history` is what
    `history.load_history` read for the run's provinces."""
    frame = _scope_frame(frames, history, rule.scope)
    out = []
    for label in violations(rule, frame):
        row = frame.loc[label]
        if _repeats_an_error(rule, frames, row):
            continue
        place, fields = _placed(rule, frames, row)
        out.append((int(row["_file"]), finding(rule.name, rule.severity, rule.texts, fields,
                                               place)))
    return out


def evaluate(files: list[ParsedFile], history: pd.DataFrame | None = None,
             today: date | None = None) -> None:
    """Every rule of the table over `files`, findings appended to them. Crashes propagate: the
    run (`run.validate`) calls `evaluate_rule` rule by rule and isolates them."""
    frames = RunFrames(files, today or settings.today())
    history = history if history is not None else pd.DataFrame(columns=HISTORY_COLUMNS)
    for rule in RULES:
        for f, item in evaluate_rule(rule, frames, history):
            files[f].findings.append(item)
