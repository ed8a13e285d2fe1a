"""The frames of a run: every sheet kind stacked once for all files, and the views the checks need.

Validation works on a whole run at once: the sheets of one kind of every file are stacked into
one frame (column `_file` = position of the file in the run, `excel_row` = the row as Excel
shows it), built once and shared by the GX suites and the rule table. The views below are
computed from those frames, each by one function:

- `info`: one row per file, ThongTin as parsed with the period and term decoded, and the inbox
  folder (what the ThongTin suite and the period-in-term rule run over);
- `suite_frame(kind)`: what a GX suite runs over, with helper columns from the catalogue, and for
  GiamNgheo the unit rows with the commune columns, and the same rows in long form (one row per
  cell);
- `totals`: the total rows beside the sums of the unit rows (the rule table's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

from ingest import settings
from ingest.model import EMULATION, INFO_SHEET, POVERTY, SHEET_KINDS, TERM, Finding, ParsedFile
from ingest.periods import parse_period, parse_term, term_for
from ingest.read.layout import SHEETS, fold
from ingest.reference import (
    canonical_term,
    indicators_of,
    match_commune,
    merged_into,
    province_name,
    provinces_for,
    provinces_new,
)
from ingest.validate.placement import header_text, number_text

POVERTY_MEASURES = tuple(c.name for c in SHEETS[POVERTY].columns if c.kind in ("count", "money"))
POVERTY_COUNTS = tuple(c.name for c in SHEETS[POVERTY].columns if c.kind == "count")
TOTAL_COLUMNS = ["_file", "excel_row", "_column", "total", "district_sum"]
YEAR_COLUMNS = ("period_year", "file_year", "term_start", "term_end")  # of the info frame


def stack(files: list[ParsedFile], kind: str) -> pd.DataFrame:
    """The sheets of one kind of all files, stacked, numbers as float64 (NaN = empty).

    Built from the sheets' columns at once (one frame, not a frame per sheet concatenated):
    the same frame `pd.concat` of the sheets' frames gives, dtypes included."""
    ids = [i for i, f in enumerate(files) if kind in f.sheets and f.sheets[kind].row_count]
    if not ids:
        return pd.DataFrame()
    sheets = [files[i].sheets[kind] for i in ids]
    numbers = {c.name for c in SHEETS[kind].columns if c.kind not in ("text", "code")}
    data: dict[str, object] = {"_file": np.repeat(np.array(ids, dtype="int64"),
                                                  [s.row_count for s in sheets])}
    for name in sheets[0].columns:
        parts = [s.columns[name] for s in sheets]
        if name in numbers:
            data[name] = np.array([v for part in parts for v in part], dtype="float64")
            continue
        # a text column of a sheet where it is empty throughout is an object column (pandas
        # infers str only from some text), and so is the stack, with NaN for the others' gaps
        texts = [any(v is not None for v in part) for part in parts]
        if name in ("excel_row", "is_total") or all(texts):
            data[name] = [v for part in parts for v in part]
        else:
            data[name] = pd.Series([np.nan if v is None and text else v
                                    for part, text in zip(parts, texts, strict=True)
                                    for v in part], dtype=object)
    return pd.DataFrame(data)


def _dmy(value: date | None) -> str | None:
    return value.strftime("%d/%m/%Y") if value else None


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")


def year_in_name(name: str) -> int | None:
    """The one year (20xx) a file name names, if it names exactly one."""
    years = set(_YEAR.findall(name))
    return int(years.pop()) if len(years) == 1 else None


def info_frame(files: list[ParsedFile], today: date) -> pd.DataFrame:
    """One row per file: ThongTin decoded, the inbox folder, and what the checks compare with."""
    records = []
    for i, f in enumerate(files):
        info = f.info
        period = parse_period(info.period) if info.period else None
        term = parse_term(info.term) if info.term else None
        new_codes = period is not None and period.uses_new_codes
        emulation = f.sheets.get(EMULATION)
        # the name is checked against the province the file is for: its folder when that is a
        # valid code (a wrong Mã tỉnh is the folder check's finding, and the two must not ask
        # for contradictory fixes), else the declared code
        valid = provinces_for(period)
        name_code = f.folder_province if f.folder_province in valid else info.province_code
        official = province_name(name_code, period) if name_code else None
        # a code that ended on 1 July 2025 used for a later period: name the province it became
        became = (merged_into(info.province_code) if new_codes and info.province_code
                  and info.province_code not in provinces_new() else None)
        records.append({
            "_file": i,
            "has_info_sheet": bool(info.rows),
            "folder": f.folder_province,
            "folder_given": bool(f.folder_province),
            "example_folder": info.province_code or "60",
            "province_code": info.province_code,
            "province_name": info.province_name,
            "province_name_key": fold(info.province_name) or None,
            "name_code": name_code,
            "catalogue_province_name": official,
            "catalogue_name_key": fold(official) or None,
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
            "term_canonical": canonical_term(term.code) if term else None,
            # contract §1: from the 2025 annual report on, the term of the 34 provinces
            "expected_term": term_for(period).code if new_codes else None,
            "term_after_reform": bool(term) and new_codes,
            "new_codes": new_codes,
            "code_ended": became is not None,
            "code_not_ended": became is None,
            "became_code": became[0] if became else None,
            "became_name": became[1] if became else None,
            "old_province_name": province_name(info.province_code) if became else None,
            "valid_codes": frozenset(valid),
            "code_set_vi": ("34 mã tỉnh áp dụng từ 01/07/2025" if new_codes
                            else "63 mã tỉnh áp dụng đến 30/06/2025"),
            "code_set_en": ("the 34 province codes in force from 1 July 2025" if new_codes
                            else "the 63 province codes in force until 30 June 2025"),
            "has_emulation": emulation is not None,
            "emulation_sheet": emulation.sheet_name if emulation else "ThiDua",
            # dates nobody would write for this period (rules report_date_*, file_name_year)
            "report_date": info.report_date,
            "report_date_given": info.report_date is not None,
            "report_date_text": _dmy(info.report_date),
            "period_start_text": _dmy(period.start) if period else None,
            "period_end_text": _dmy(period.end) if period else None,
            "late_limit": _a_year_after(period.end) if period else None,
            "late_limit_text": _dmy(_a_year_after(period.end)) if period else None,
            "file_name": f.source_file,
            "file_year": (year := year_in_name(f.source_file)),
            "names_year": year is not None,
        })
    frame = pd.DataFrame.from_records(records)
    # years are whole numbers in the messages ("năm 2022"): a column where some file has none
    # would otherwise turn float ("2022.0")
    for column in YEAR_COLUMNS:
        if column in frame:
            frame[column] = pd.Series([r[column] for r in records], index=frame.index,
                                      dtype="object")
    return frame


def with_catalogue(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Helper columns the suites need from the catalogue (see each suite's notes)."""
    if kind == TERM:
        catalogue = indicators_of("term")
        value_type = frame["indicator_code"].map(
            lambda c: catalogue[c].value_type if c in catalogue else None)
        is_count, is_percent = value_type == "count", value_type == "percent"
        # empty exactly where a target has no result cell at all (a result that is no number
        # is its own error, not also "not reported")
        unreported = frame["target_value"].notna() & (frame["actual_text"].fillna("") == "")
        return frame.assign(
            count_target_value=frame["target_value"].where(is_count),
            count_actual_value=frame["actual_value"].where(is_count),
            percent_actual_value=frame["actual_value"].where(is_percent),
            result_given=pd.Series(np.where(unreported, None, True), index=frame.index,
                                   dtype="object"),
        )
    if kind == EMULATION:
        catalogue = indicators_of("emulation")
        maxima = frame["criterion_code"].map(
            lambda c: catalogue[c].max_points if c in catalogue else None).astype("float64")
        return frame.assign(catalogue_max_points=maxima,
                            catalogue_max_points_text=maxima.map(number_text))
    return frame


def poverty_cells(districts: pd.DataFrame) -> pd.DataFrame:
    """District rows in long form, one row per cell (`measure` = the column): one expectation
    then covers every count and amount column."""
    if districts.empty:
        return districts
    # units of a 2025+ report are communes: their duplicates are the suite's commune_repeat
    # (by commune, however spelt); other units are the same unit by their folded name
    keyed = districts.assign(district_key=pd.Series(
        [None if checked else (fold(n) or None) for n, checked in
         zip(districts["district_name"], districts["commune_required"], strict=True)],
        index=districts.index, dtype=object))
    cells = keyed.melt(id_vars=["_file", "excel_row", "district_name", "district_key"],
                       value_vars=list(POVERTY_MEASURES), var_name="measure",
                       value_name="value")
    cells["value"] = cells["value"].astype("float64")
    cells["count_value"] = cells["value"].where(cells["measure"].isin(POVERTY_COUNTS))
    return cells


def _names(communes) -> str:
    names = [c.name for c in communes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " hoặc " + names[-1]


def _names_en(communes) -> str:
    names = [c.name for c in communes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def with_communes(districts: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    """GiamNgheo unit rows with what the commune rules need (contract §2): from the 2025 annual
    report on, whether each unit names a commune of the declared province (`commune_status`:
    ok, unknown, ambiguous, other_province), the closest communes or the province it belongs to,
    and whether the row repeats a unit listed above it (one finding per unit: the first row
    carries the unit's own finding, a later row only says it repeats)."""
    if districts.empty:
        return districts.assign(commune_required=pd.Series(dtype=bool))
    # the declared province of each file whose units are communes (one lookup per file)
    province_of = {} if info.empty else {
        f: code for f, code, new in zip(info["_file"], info["province_code"], info["new_codes"],
                                        strict=True) if new and code in provinces_new()}
    columns: dict[str, list] = {c: [] for c in (
        "commune_required", "commune_check", "commune_repeat", "commune_status", "commune_name",
        "first_row", "province_name_2025", "suggest_vi", "suggest_en", "own_suggest_vi",
        "own_suggest_en", "candidates_vi", "candidates_en", "other_province_vi",
        "other_province_en")}
    # a unit that need not be a commune (before 2025): the same values on every row
    free = {"commune_required": False, "commune_check": False, "commune_repeat": False,
            "commune_status": None, "commune_name": None, "province_name_2025": None,
            "suggest_vi": "Không có tên nào gần giống trong danh mục của tỉnh.",
            "suggest_en": "No name of the province's list comes close.",
            "own_suggest_vi": "Trong danh mục của tỉnh không có tên nào gần giống.",
            "own_suggest_en": "No name of the province's list comes close.",
            "candidates_vi": "", "candidates_en": "", "other_province_vi": "",
            "other_province_en": ""}
    seen: dict[tuple, int] = {}
    for f, row, name in zip(districts["_file"], districts["excel_row"],
                            districts["district_name"], strict=True):
        province = province_of.get(f)
        required = bool(province and name)
        if not required:
            key = (f, fold(name))
            seen.setdefault(key, int(row))
            for column, value in free.items():
                columns[column].append(value)
            columns["first_row"].append(seen[key])
            continue
        found = match_commune(province, str(name))
        key = (f, found.commune.code if found and found.commune else fold(name))
        first = key not in seen
        seen.setdefault(key, int(row))
        close = found.candidates if found else ()
        elsewhere = found.elsewhere if found else ()
        provinces = list(dict.fromkeys(f"{provinces_new()[c.province_code]} (mã "
                                       f"{c.province_code})" for c in elsewhere))
        values = {
            "commune_required": required,
            "commune_check": required and first,
            "commune_repeat": required and not first and found.status == "ok",
            "commune_status": found.status if found else None,
            "commune_name": found.commune.name if found and found.commune else None,
            "first_row": seen[key],
            "province_name_2025": provinces_new().get(province) if required else None,
            "suggest_vi": f"Có phải: {_names(close)}?" if close else free["suggest_vi"],
            "suggest_en": f"Did you mean: {_names_en(close)}?" if close else free["suggest_en"],
            # the commune_other_province hint: one sentence, no "...: Có phải: ...?"
            "own_suggest_vi": f"Nếu là đơn vị của {provinces_new().get(province)} thì có phải là"
            f" {_names(close)} không?" if close else free["own_suggest_vi"],
            "own_suggest_en": f"If it is one of {provinces_new().get(province)}'s own, did you"
            f" mean {_names_en(close)}?" if close else free["own_suggest_en"],
            "candidates_vi": _names(close) if close else "",
            "candidates_en": _names_en(close) if close else "",
            "other_province_vi": ", ".join(provinces),
            "other_province_en": ", ".join(p.replace("(mã", "(code") for p in provinces),
        }
        for column, value in values.items():
            columns[column].append(value)
    return districts.assign(**{c: pd.Series(v, index=districts.index, dtype=object
                                            if c not in ("commune_required",) else bool)
                               for c, v in columns.items()})


def totals(poverty: pd.DataFrame) -> pd.DataFrame:
    """One row per (total row, measure): the total as written beside the district rows' sum."""
    if poverty.empty or not poverty["is_total"].any():
        return pd.DataFrame(columns=TOTAL_COLUMNS)
    is_total = poverty["is_total"].astype(bool)
    sums = poverty[~is_total].groupby("_file")[list(POVERTY_MEASURES)].sum(min_count=1)
    rows = poverty[is_total].drop_duplicates("_file")  # the first total row of a sheet counts
    long = rows.melt(id_vars=["_file", "excel_row"], value_vars=list(POVERTY_MEASURES),
                     var_name="_column", value_name="total")
    sums = sums.reset_index().melt(id_vars="_file", var_name="_column",
                                   value_name="district_sum")
    long = long.merge(sums, on=["_file", "_column"], how="left")
    long["total"] = long["total"].astype("float64")
    long["district_sum"] = long["district_sum"].astype("float64")
    return long


@dataclass
class RunFrames:
    """The frames of one run, each built once, on first use."""

    files: list[ParsedFile]
    today: date = field(default_factory=settings.today)
    subset: frozenset[int] | None = None  # positions of the files these frames cover
    # cells an error already names, (file, sheet kind, Excel row, canonical column): the rules
    # that would only repeat that mistake in other words skip them (one mistake, one finding)
    broken: frozenset[tuple[int, str, int, str | None]] = frozenset()

    @property
    def file_ids(self) -> list[int]:
        return sorted(self.subset) if self.subset is not None else list(range(len(self.files)))

    @cached_property
    def info(self) -> pd.DataFrame:
        return info_frame(self.files, self.today)

    @cached_property
    def sheets(self) -> dict[str, pd.DataFrame]:
        return {kind: stack(self.files, kind) for kind in SHEET_KINDS}

    @cached_property
    def districts(self) -> pd.DataFrame:
        poverty = self.sheets[POVERTY]
        units = poverty[~poverty["is_total"].astype(bool)] if not poverty.empty else poverty
        return with_communes(units, self.info)

    @property
    def scores(self) -> pd.DataFrame:
        return self.sheets[EMULATION]

    @cached_property
    def totals(self) -> pd.DataFrame:
        return totals(self.sheets[POVERTY])

    def prepare(self) -> None:
        """Build the frames every check reads now (each is otherwise built on first use)."""
        for name in ("info", "sheets", "districts", "totals"):
            getattr(self, name)

    def note_errors(self, found: list[tuple[int, Finding]]) -> None:
        """Remember the cells named by the errors found so far (the reader's and `found`)."""
        cells = set(self.broken)
        errors = [(f, x) for f in self.file_ids for x in self.files[f].findings]
        for f, item in [*errors, *found]:
            if item.severity != "error" or item.excel_row is None or item.sheet is None:
                continue
            for kind, sheet in self.files[f].sheets.items():
                if sheet.sheet_name == item.sheet:
                    canonical = {header_text(h): c for c, h in sheet.headers.items()}
                    cells.add((f, kind, item.excel_row, canonical.get(item.column)))
        self.broken = frozenset(cells)

    def is_broken(self, file: int, kind: str, excel_row: object = None,
                  columns: tuple[str | None, ...] | None = None) -> bool:
        """Whether an error names a cell of `file`'s sheet `kind` (at that row and one of those
        columns, when given)."""
        return any(f == file and k == kind and (excel_row is None or r == excel_row)
                   and (columns is None or c in columns) for f, k, r, c in self.broken)

    def suite_frame(self, kind: str, part: str = "rows") -> pd.DataFrame:
        """What the suite of `kind` runs over, with `_row` = position (GX's unexpected index):
        ThongTin one row per file, the data sheets their rows (GiamNgheo: its unit rows, with
        the commune columns; `part="cells"`: one row per cell of them)."""
        if kind == INFO_SHEET:
            frame = self.info
        elif kind == POVERTY:
            frame = poverty_cells(self.districts) if part == "cells" else self.districts
        else:
            frame = self.sheets[kind]
            frame = with_catalogue(frame, kind) if not frame.empty else frame
        if frame.empty:
            return frame
        return frame.reset_index(drop=True).assign(_row=np.arange(len(frame)))

    def only(self, file_ids: set[int]) -> RunFrames:
        """The frames of a subset of the run's files (file positions kept): for re-running a
        check that crashed, file by file."""
        sub = RunFrames(self.files, self.today, frozenset(file_ids), self.broken)
        keep = sorted(file_ids)
        sub.__dict__["info"] = self.info[self.info["_file"].isin(keep)] if not (
            self.info.empty) else self.info
        sub.__dict__["sheets"] = {k: f[f["_file"].isin(keep)] if not f.empty else f
                                  for k, f in self.sheets.items()}
        return sub
