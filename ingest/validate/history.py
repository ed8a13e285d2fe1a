"""The province's own history, and how unusual a value is against it (contract §3 outliers).

One query per run (`queries/history_values.sql`) reads the current version of every earlier
report of the run's provinces. A value of a file is compared with the values of the same
measure, province, kind of period (annual with annual, half-year with half-year) and code set
(before or after the 1 July 2025 merger), other periods only.

The modified z-score (Iglewicz and Hoaglin) is 0.6745 × (value − median) ÷ MAD, where MAD is the
median absolute deviation of the history; the contract flags a value above 3.5. A province has
one value a year, so histories are short, and three guards keep the rule sound on them:
- at least `MIN_HISTORY` earlier periods, or no verdict;
- the MAD is taken as at least `MAD_FLOOR` of the median. On four to eight yearly values a few
  that happen to lie close together make the MAD tiny, and then an ordinary year-to-year change
  scores far above 3.5. With the floor a value is flagged only when it is also more than
  3.5 ÷ 0.6745 × 10 % ≈ 52 % away from the median: a misplaced digit, a wrong unit, a swapped
  column, which is what the warning is for;
- a resubmission's value within `SAME_AS_BEFORE` of the value the version it replaces holds for
  the same period is not flagged again: it is the province's own figure for that period, and
  a clerk who corrected one number should hear about that number, not again about the rest.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

import pandas as pd

from ingest.model import POVERTY, TERM, ParsedFile
from ingest.periods import parse_period
from ingest.validate.frames import POVERTY_MEASURES, RunFrames
from ingest.validate.placement import missing, number_text
from ingest.warehouse import query

OUTLIER_Z = 3.5  # contract §3
MIN_HISTORY = 4  # earlier periods of the same kind needed before any verdict
MAD_FLOOR = 0.10  # the MAD taken is at least this share of the median's size
SAME_AS_BEFORE = 0.10  # a resubmitted value this close to the replaced version's: no verdict
_CONSISTENCY = 0.6745  # MAD of a normal distribution ÷ its standard deviation
HISTORY_COLUMNS = ["province_code", "period", "kind", "measure", "value"]
SCORE_COLUMNS = ["_file", "excel_row", "_column", "value", "abs_modified_z", "has_history",
                 "median", "median_text", "history_n", "z_text", "value_text"]


def load_history(conn, provinces: Iterable[str]) -> pd.DataFrame:
    """Current-version values of these provinces: province_code, period, kind, measure, value."""
    provinces = sorted({p for p in provinces if p})
    if conn is None or not provinces:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    rows = conn.execute(query("history_values"), {"provinces": provinces}).fetchall()
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def modified_z(value: float, history: list[float]) -> tuple[float, float] | None:
    """(modified z-score, median) of `value` against `history`; None when the history has no
    spread at all (every value the same, and zero).

    Plain `statistics` on short lists: numpy's median costs ~50x more per call here."""
    median = statistics.median(history)
    deviations = [abs(h - median) for h in history]
    mad = max(statistics.median(deviations), MAD_FLOOR * abs(median))
    if mad > 0:
        return _CONSISTENCY * (value - median) / mad, median
    mean_ad = statistics.fmean(deviations)  # more than half the history equals the median
    if mean_ad > 0:
        return (value - median) / (1.253314 * mean_ad), median
    return None


def _groups(history: pd.DataFrame) -> dict[tuple, list[tuple[str, float]]]:
    """(province, kind, measure, kind of period, code set) -> [(period, value)].

    Plain lists: a pandas mask per value checked costs more than the rest of validation."""
    parsed = {p: parse_period(p) for p in history["period"].unique()}
    groups: dict[tuple, list[tuple[str, float]]] = defaultdict(list)
    for province, period_code, kind, measure, value in history.itertuples(index=False,
                                                                          name=None):
        period = parsed[period_code]
        if period is not None:
            groups[(province, kind, measure, period.kind, period.uses_new_codes)].append(
                (period_code, value))
    return groups


def _candidates(frames: RunFrames) -> list[tuple]:
    """(_file, excel_row, column, kind, measure, value) of every value of the run that has a
    history: GiamNgheo sums (placed on the total row, if any), ChiTieu results."""
    out = []
    poverty = frames.sheets[POVERTY]
    if not poverty.empty:
        is_total = poverty["is_total"].astype(bool)
        sums = poverty[~is_total].groupby("_file")[list(POVERTY_MEASURES)].sum(min_count=1)
        total_rows = poverty[is_total].drop_duplicates("_file").set_index("_file")["excel_row"]
        for f, row in sums.iterrows():
            for measure, value in row.items():
                out.append((f, total_rows.get(f), measure, POVERTY, measure, value))
    term = frames.sheets[TERM]
    if not term.empty:
        for f, r, code, value in zip(term["_file"], term["excel_row"], term["indicator_code"],
                                     term["actual_value"], strict=True):
            out.append((f, r, "actual_value", TERM, code, value))
    return out


def score_frame(frames: RunFrames, history: pd.DataFrame) -> pd.DataFrame:
    """One row per value of this run with enough history: the scope of the outlier rule."""
    if history.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    files: list[ParsedFile] = frames.files
    groups = _groups(history)
    records = []
    for f, excel_row, column, kind, measure, value in _candidates(frames):
        info = files[f].info
        period = parse_period(info.period) if info.period else None
        if missing(value) or period is None:
            continue
        g = groups.get((files[f].folder_province, kind, measure, period.kind,
                        period.uses_new_codes))
        if g is None:
            continue
        points = [float(v) for p, v in g if p != period.code]
        before = [float(v) for p, v in g if p == period.code]  # the version being replaced
        if len(points) < MIN_HISTORY or any(
                abs(float(value) - b) <= SAME_AS_BEFORE * abs(b) for b in before):
            continue
        scored = modified_z(float(value), points)
        if scored is None:
            continue
        z, median = scored
        records.append({
            "_file": f, "excel_row": excel_row, "_column": column, "value": float(value),
            "abs_modified_z": abs(z), "has_history": True,
            "median": median, "median_text": number_text(median), "history_n": len(points),
            "z_text": f"{z:.1f}".replace(".", ","), "value_text": number_text(value),
        })
    return pd.DataFrame.from_records(records, columns=SCORE_COLUMNS)
