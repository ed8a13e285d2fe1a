"""Cross-field and cross-file rules (contract §3): one table, in the style of DHIS2 rules.

Each rule compares a left side with a right side (`left op right`) over one frame per scope, built
for all files of a run at once: ThongTin (one row per file), the district rows of GiamNgheo, the
ThiDua rows, the total rows of GiamNgheo against their district sums, and each file's values
against the province's own history. Column-level checks (codes, duplicates, signs, whole numbers)
are the Great Expectations suites in `expectations/`; this module holds what relates two values.

A rule is skipped where either side is missing (empty cells are other rules' business) or where
its `when` column is not true.
"""

from __future__ import annotations

import math
import operator
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ingest.model import EMULATION, POVERTY, TERM, Finding, ParsedFile, Severity
from ingest.periods import parse_period, parse_term
from ingest.read import layout
from ingest.read.layout import SHEETS
from ingest.read.numbers import vn_number
from ingest.reference import provinces_for

# Scopes: which frame a rule runs over.
INFO = "info"  # one row per file: ThongTin and the inbox folder
DISTRICTS = "districts"  # GiamNgheo district rows (the total row is checked by TOTALS)
SCORES = "scores"  # ThiDua rows
TOTALS = "totals"  # one row per GiamNgheo total-row cell, beside the sum of the district rows
HISTORY = "history"  # one row per value that has a history for its province

OUTLIER_Z = 3.5
HISTORY_MIN_POINTS = 4

POVERTY_MEASURES = tuple(c.name for c in SHEETS[POVERTY].columns if c.kind in ("count", "money"))


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
         "một mã trong {code_set_vi}", "one of {code_set_en}"),
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
    # ---- each value against the province's own history
    Rule("outlier", HISTORY, "abs_modified_z", "<=", Lit(OUTLIER_Z), "warning",
         "Giá trị {value} bất thường so với các kỳ trước của tỉnh (trung vị {median_text} "
         "qua {history_n} kỳ; z hiệu chỉnh {z_text}). Hãy kiểm tra lại.",
         "Value {value} is unusual against the province's earlier periods (median "
         "{median_text} over {history_n} periods; modified z-score {z_text}). Please check it.",
         "gần {median_text} (z hiệu chỉnh ≤ 3,5)", "near {median_text} (modified z-score ≤ 3.5)",
         when="has_history"),
)

_OPS: dict[str, Callable] = {"<=": operator.le, ">=": operator.ge, "==": operator.eq,
                             "!=": operator.ne}


# ---------------------------------------------------------------- evaluation

def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _present(values: Iterable) -> np.ndarray:
    return np.array([not _missing(v) for v in values], dtype=bool)


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


# ---------------------------------------------------------------- the frames, built per run

def number_text(value: float | None) -> str:
    """A number for a report, written the Vietnamese way: 1.284 ; 11,54."""
    return "" if _missing(value) else vn_number(value)


def info_frame(files: list[ParsedFile], today: date | None = None) -> pd.DataFrame:
    today = today or date.today()
    records = []
    for i, f in enumerate(files):
        info = f.info
        period = parse_period(info.period) if info.period else None
        term = parse_term(info.term) if info.term else None
        new_codes = period is not None and period.uses_new_codes
        emulation = f.sheets.get(EMULATION)
        records.append({
            "_file": i,
            "folder": f.folder_province,
            "folder_given": bool(f.folder_province),
            "example_folder": info.province_code or "60",
            "province_code": info.province_code,
            "period": info.period,
            "period_given": bool(info.period),
            "period_code": period.code if period else None,
            "period_kind": period.kind if period else None,
            "period_year": period.year if period else None,
            "period_start": period.start if period else None,
            "today": today,
            "today_text": today.strftime("%d/%m/%Y"),
            "term": info.term,
            "term_given": bool(info.term),
            "term_code": term.code if term else None,
            "term_start": term.start_year if term else None,
            "term_end": term.end_year if term else None,
            "valid_codes": frozenset(provinces_for(period)),
            "code_set_vi": ("34 mã tỉnh áp dụng từ 01/07/2025" if new_codes
                            else "63 mã tỉnh áp dụng đến 30/06/2025"),
            "code_set_en": ("the 34 province codes in force from 1 July 2025" if new_codes
                            else "the 63 province codes in force until 30 June 2025"),
            "has_emulation": emulation is not None,
            "emulation_sheet": emulation.sheet_name if emulation else "ThiDua",
        })
    return pd.DataFrame.from_records(records)


def sheet_frame(files: list[ParsedFile], kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sheets of one kind of all files, stacked: (values, cells as written), same index.

    Columns `_file` (position in `files`) and `excel_row` place every row back in its file."""
    ids = [i for i, f in enumerate(files)
           if kind in f.sheets and not f.sheets[kind].frame.empty]
    if not ids:
        return pd.DataFrame(), pd.DataFrame()

    frame = pd.concat([files[i].sheets[kind].frame for i in ids], keys=ids,
                      names=["_file", None]).reset_index(level=0).reset_index(drop=True)
    # the cells as written, in the same row order (sheets keep them by Excel row)
    text = pd.DataFrame.from_records(
        [{"_file": i, "excel_row": row, **cells}
         for i in ids for row, cells in files[i].sheets[kind].text.items()])
    for col in SHEETS[kind].columns:
        if col.kind not in ("text", "code") and col.name in frame:
            frame[col.name] = pd.to_numeric(frame[col.name], errors="coerce").astype("float64")
    return frame, text


def totals_frame(poverty: pd.DataFrame) -> pd.DataFrame:
    """One row per (total row, measure): the total as written beside the district rows' sum."""
    if poverty.empty or not poverty["is_total"].any():
        return pd.DataFrame(columns=["_file", "excel_row", "_column", "total", "district_sum"])
    is_total = poverty["is_total"].astype(bool)
    districts = poverty[~is_total]
    sums = districts.groupby("_file")[list(POVERTY_MEASURES)].sum(min_count=1)
    totals = poverty[is_total].drop_duplicates("_file")  # the first total row of a sheet counts
    long = totals.melt(id_vars=["_file", "excel_row"], value_vars=list(POVERTY_MEASURES),
                       var_name="_column", value_name="total")
    long["district_sum"] = [
        sums.at[f, c] if f in sums.index else np.nan for f, c in zip(long["_file"],
                                                                     long["_column"],
                                                                     strict=True)]
    long["total"] = long["total"].astype("float64")
    long["district_sum"] = long["district_sum"].astype("float64")
    return long


# ---------------------------------------------------------------- history (one query per run)

_HISTORY_SQL = """
with current_version as (
    select submission_id, province_code, period
    from raw.submissions
    where status in ('accepted', 'accepted_with_warnings') and province_code = any(%(provinces)s)
)
select c.province_code, c.period, 'poverty_support' as kind, v.measure, sum(v.value)::float8
from current_version c
join raw.poverty_support p using (submission_id)
cross join lateral (values {poverty_values}) as v(measure, value)
where not p.is_total
group by 1, 2, 3, 4
having count(v.value) > 0
union all
select c.province_code, c.period, 'term_indicators', t.indicator_code, t.actual_value::float8
from current_version c
join raw.term_indicators t using (submission_id)
where t.actual_value is not null
"""


def load_history(conn, provinces: Iterable[str]) -> pd.DataFrame:
    """Current-version values of these provinces: province_code, period, kind, measure, value."""
    columns = ["province_code", "period", "kind", "measure", "value"]
    provinces = sorted({p for p in provinces if p})
    if conn is None or not provinces:
        return pd.DataFrame(columns=columns)
    values = ", ".join(f"('{m}', p.{m})" for m in POVERTY_MEASURES)  # fixed column names
    rows = conn.execute(_HISTORY_SQL.format(poverty_values=values),
                        {"provinces": provinces}).fetchall()
    return pd.DataFrame(rows, columns=columns)


def _modified_z(value: float, history: list[float]) -> tuple[float, float] | None:
    """(modified z-score, median) after Iglewicz and Hoaglin; None when the spread is zero.

    Plain `statistics` on short lists: numpy's median costs ~50x more per call here."""
    median = statistics.median(history)
    deviations = [abs(h - median) for h in history]
    mad = statistics.median(deviations)
    if mad > 0:
        return 0.6745 * (value - median) / mad, median
    mean_ad = statistics.fmean(deviations)
    if mean_ad > 0:
        return (value - median) / (1.253314 * mean_ad), median
    return None


def history_frame(files: list[ParsedFile], history: pd.DataFrame, poverty: pd.DataFrame,
                  term: pd.DataFrame) -> pd.DataFrame:
    """One row per value of this run that has enough history for its province."""
    columns = ["_file", "excel_row", "_column", "value", "abs_modified_z", "has_history",
               "median", "median_text", "history_n", "z_text", "value_text"]
    if history.empty:
        return pd.DataFrame(columns=columns)
    parsed = {p: parse_period(p) for p in history["period"].unique()}
    # (province, kind, measure, kind of period, code era) -> [(period, value)]: plain lists,
    # since a pandas mask per value checked costs more than the whole rest of validation
    groups: dict[tuple, list[tuple[str, float]]] = defaultdict(list)
    for province, period_code, kind, measure, value in history.itertuples(index=False,
                                                                          name=None):
        period = parsed[period_code]
        if period is not None:
            groups[(province, kind, measure, period.kind, period.uses_new_codes)].append(
                (period_code, value))

    candidates = []  # (_file, excel_row, _column, kind, measure, value)
    if not poverty.empty:
        is_total = poverty["is_total"].astype(bool)
        sums = poverty[~is_total].groupby("_file")[list(POVERTY_MEASURES)].sum(min_count=1)
        total_rows = poverty[is_total].drop_duplicates("_file").set_index("_file")["excel_row"]
        for f, row in sums.iterrows():
            for measure, value in row.items():
                candidates.append((f, total_rows.get(f), measure, POVERTY, measure, value))
    if not term.empty:
        for f, r, code, value in zip(term["_file"], term["excel_row"], term["indicator_code"],
                                     term["actual_value"], strict=True):
            candidates.append((f, r, "actual_value", TERM, code, value))

    records = []
    for f, excel_row, column, kind, measure, value in candidates:
        info = files[f].info
        period = parse_period(info.period) if info.period else None
        if _missing(value) or period is None:
            continue
        g = groups.get((files[f].folder_province, kind, measure, period.kind,
                        period.uses_new_codes))
        if g is None:
            continue
        points = [float(v) for p, v in g if p != period.code]
        if len(points) < HISTORY_MIN_POINTS:
            continue
        scored = _modified_z(float(value), points)
        if scored is None:
            continue
        z, median = scored
        records.append({
            "_file": f, "excel_row": excel_row, "_column": column, "value": float(value),
            "abs_modified_z": abs(z), "has_history": True,
            "median": median, "median_text": number_text(median), "history_n": len(points),
            "z_text": f"{z:.1f}".replace(".", ","), "value_text": number_text(value),
        })
    return pd.DataFrame.from_records(records, columns=columns)


# ---------------------------------------------------------------- findings

_INFO_LABEL = {field: label for label, (field, _) in reversed(layout.INFO_LABELS.items())}


def _fmt(template: str, fields: dict) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return template


def _finding(rule: Rule, fields: dict, sheet, excel_row, column, value) -> Finding:
    fields = {k: ("" if _missing(v) else v) for k, v in fields.items()}
    fields.setdefault("value", value or "")
    return Finding(
        rule=rule.name, severity=rule.severity,
        message_vi=_fmt(rule.message_vi, fields), message_en=_fmt(rule.message_en, fields),
        sheet=sheet, excel_row=None if _missing(excel_row) else int(excel_row),
        column=column, value=value,
        expected=f"{_fmt(rule.expected_vi, fields)} / {_fmt(rule.expected_en, fields)}",
    )


def header_text(header: str | None) -> str | None:
    """A header as written, on one line: offices break long headers inside the cell."""
    return " ".join(header.split()) if header else header


def _money_units(header: str | None) -> float:
    return float(layout.money_multiplier(header or ""))


def stack_sheets(files: list[ParsedFile]) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """`sheet_frame` of every sheet kind: built once per run, shared by suites and rules."""
    return {kind: sheet_frame(files, kind) for kind in (TERM, EMULATION, POVERTY)}


def evaluate(files: list[ParsedFile], history: pd.DataFrame | None = None,
             today: date | None = None,
             stacked: dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None) -> None:
    """Run every rule of the table over all files; append the findings to each file."""
    if not files:
        return
    stacked = stacked or stack_sheets(files)
    frames: dict[str, pd.DataFrame] = {INFO: info_frame(files, today)}
    poverty, poverty_text = stacked[POVERTY]
    scores, scores_text = stacked[EMULATION]
    term, _ = stacked[TERM]
    frames[DISTRICTS] = poverty[~poverty["is_total"].astype(bool)] if not poverty.empty \
        else poverty
    frames[SCORES] = scores
    frames[TOTALS] = totals_frame(poverty)
    frames[HISTORY] = history_frame(files, history if history is not None else pd.DataFrame(),
                                    poverty, term)
    texts = {DISTRICTS: poverty_text, SCORES: scores_text}
    sheet_kind = {DISTRICTS: POVERTY, SCORES: EMULATION, TOTALS: POVERTY}

    for rule in RULES:
        frame = frames[rule.scope]
        for label in violations(rule, frame):
            row = frame.loc[label]
            parsed = files[int(row["_file"])]
            fields = row.to_dict()
            if rule.scope == INFO:
                at = rule.at or rule.left
                info = parsed.info
                value = info.raw.get(at) or (None if _missing(row[rule.left])
                                             else str(row[rule.left]))
                if rule.name == "inbox_folder":
                    value = "(thư mục gốc / inbox top)"
                parsed.findings.append(_finding(
                    rule, fields, info.sheet_name if info.rows else None, info.rows.get(at),
                    _INFO_LABEL.get(at), value))
                continue
            if rule.scope in (DISTRICTS, SCORES):
                sheet = parsed.sheets[sheet_kind[rule.scope]]
                value = texts[rule.scope].at[label, rule.left] or number_text(row[rule.left])
                right = row[rule.right] if isinstance(rule.right, str) else None
                right_text = texts[rule.scope].at[label, rule.right] if isinstance(
                    rule.right, str) else ""
                fields.update(value=value, right=right_text or number_text(right))
                parsed.findings.append(_finding(rule, fields, sheet.sheet_name, row["excel_row"],
                                                header_text(sheet.headers.get(rule.left)), value))
                continue
            # long frames: the column is per row
            column = row["_column"]
            kind = TERM if rule.scope == HISTORY and column == "actual_value" else POVERTY
            sheet = parsed.sheets[kind]
            header = header_text(sheet.headers.get(column))
            scale = _money_units(header) if column in ("charity_homes_vnd",
                                                       "policy_loan_outstanding_vnd") else 1.0
            if rule.scope == TOTALS:
                value = _text_at(sheet, row["excel_row"], column) or number_text(
                    row["total"] / scale)
                fields.update(value=value, right=number_text(row["district_sum"] / scale))
            else:
                value = number_text(row["value"] / scale)
                fields.update(value=value, median_text=number_text(row["median"] / scale))
                if kind == TERM:
                    value = _text_at(sheet, row["excel_row"], column) or value
                    fields["value"] = value
            parsed.findings.append(_finding(rule, fields, sheet.sheet_name, row["excel_row"],
                                            header, value))


def _text_at(sheet, excel_row, column: str) -> str | None:
    if _missing(excel_row):
        return None
    found = sheet.text.get(int(excel_row), {}).get(column)
    return str(found) if found not in (None, "") else None
