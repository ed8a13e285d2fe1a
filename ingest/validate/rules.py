"""The rule table (contract §3): the few rules a GX expectation cannot state.

Every other rule (column pairs, value sets, formats, not-null, with `row_condition` where it
applies only to some rows) is an expectation of the suites in `expectations/` (`suites.py`),
with the same message fields. What is left here compares a value with something no column of a
row holds:

- `period_outside_term`: the period's year between two other columns of the row (the term's
  first and last year). GX's pair expectations compare two columns; "between" takes literal
  bounds only, and two one-sided pairs would give two findings for one mistake;
- `total_not_sum`: the total row against the sum of the other rows of its sheet (an aggregate
  over rows, grouped by file, compared with one row);
- `outlier`: each value against the province's own history in the warehouse (a query, then a
  robust score per value: `history.py`).

Each rule compares a left side with a right side (`left op right`) over one frame of the run
(see `frames.RunFrames`) and is skipped where either side is missing or where its `when` column is
not true. Each rule runs on its own: one that crashes is reported as a fault of that rule
(`run.py`), the others still run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ingest import settings
from ingest.model import POVERTY, TERM, Finding, ParsedFile, Severity
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
    severity,
)

# Scopes: which frame a rule runs over.
INFO = "info"  # one row per file: ThongTin and the inbox folder
TOTALS = "totals"  # one row per GiamNgheo total-row cell, beside the sum of the district rows
HISTORY = "history"  # one row per value that has a history for its province


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
    # ---- ThongTin: the period's year between the term's first and last year
    Rule("period_outside_term", INFO, "period_year", "between", ("term_start", "term_end"), "error",
         "Kỳ báo cáo {period} nằm ngoài nhiệm kỳ {term}.",
         "Report period {period} is outside the term {term}.",
         "một kỳ trong nhiệm kỳ {term}", "a period within the term {term}",
         at="period"),
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
    return frames.info if scope == INFO else frames.totals


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
        if place.value is None and not missing(row[rule.left]):
            fields["value"] = str(row[rule.left])
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
        out.append((int(row["_file"]), finding(rule.name, severity(rule.severity), rule.texts,
                                               fields, place)))
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
