"""Validation of parsed files (contract §3): the GX suites, then the rule table, for a whole run.

All files of a run are validated together: the sheets of one kind are stacked into one frame
(column `_file` = position in the run, `_row` = position in the frame) and each suite in
`expectations/` runs once per run over it. Failures come back as `unexpected_index_list` and are
placed back in their file, sheet, Excel row and column header. The cross-field and cross-file
rules of `ingest.validate.rules` follow, with one history query for all the run's provinces.

Great Expectations is imported lazily and its context is built once per process (ephemeral:
nothing is written to disk, no `gx/` folder; analytics and progress bars off).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import psycopg

from ingest import settings
from ingest.model import EMULATION, INFO_SHEET, POVERTY, TERM, Finding, ParsedFile
from ingest.periods import parse_period
from ingest.read import layout
from ingest.read.layout import fold
from ingest.reference import indicators_of, province_name, provinces_new, provinces_old
from ingest.validate import rules

INFO_KIND = INFO_SHEET
SUITES = {INFO_KIND: "thong_tin", TERM: "chi_tieu", EMULATION: "thi_dua", POVERTY: "giam_ngheo"}
INDEX_COLUMNS = ["_row"]
_RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS,
                  "return_unexpected_index_query": False, "partial_unexpected_count": 0}
_INFO_LABEL = {field: label for label, (field, _) in reversed(layout.INFO_LABELS.items())}
_INFO_FIELDS = ["province_code", "province_name", "period", "term", "report_date"]


def validate(files: list[ParsedFile], conn: psycopg.Connection | None = None) -> None:
    """Append the findings of every rule to each file (all files of a run validated together)."""
    if not files:
        return
    stacked = rules.stack_sheets(files)
    run_suites(files, stacked)
    history = rules.load_history(conn, {f.folder_province for f in files})
    rules.evaluate(files, history, stacked=stacked)


# ---------------------------------------------------------------- suites

def _value_set(source: str) -> list[str]:
    """A value set named in a suite's meta, filled from the reference data (one source)."""
    kind, _, name = source.partition(":")
    if kind == "indicators":
        return sorted(indicators_of(name))
    if kind == "provinces":
        return sorted(set(provinces_old()) | set(provinces_new()))
    raise ValueError(f"unknown value set {source!r}")


def load_suite_dict(name: str) -> dict:
    """A suite from `expectations/<name>.json`, value sets filled in from the reference data."""
    path = settings.expectations_dir() / f"{name}.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    for expectation in suite["expectations"]:
        source = expectation.get("meta", {}).get("value_set_from")
        if source:
            expectation["kwargs"]["value_set"] = _value_set(source)
    return suite


@dataclass
class _Engine:
    context: object
    definitions: dict  # kind -> ValidationDefinition


@lru_cache(maxsize=1)
def engine() -> _Engine:
    """The GX context with one validation definition per sheet kind (built once per process)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _register_whole_numbers()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("lhpn_run")
    definitions = {}
    for kind, name in SUITES.items():
        suite = context.suites.add(ExpectationSuite(**load_suite_dict(name)))
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("run")
        definitions[kind] = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite))
    return _Engine(context, definitions)


def _register_whole_numbers() -> None:
    """`expect_column_values_to_be_whole_numbers`: GX has no built-in one for counts."""
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import ColumnMapExpectation
    from great_expectations.expectations.metrics import (
        ColumnMapMetricProvider,
        column_condition_partial,
    )

    class ColumnValuesWholeNumber(ColumnMapMetricProvider):
        condition_metric_name = "column_values.whole_number"

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column, **kwargs):
            values = column.astype("float64")
            return np.isclose(values, values.round(), rtol=0, atol=1e-9)

    class ExpectColumnValuesToBeWholeNumbers(ColumnMapExpectation):
        """Expect each non-null value to be a whole number (a count)."""

        map_metric = "column_values.whole_number"
        success_keys = ("mostly",)

    globals()["_whole_number_classes"] = (ColumnValuesWholeNumber,
                                          ExpectColumnValuesToBeWholeNumbers)


# ---------------------------------------------------------------- frames for the suites

def _catalogue_frame(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Helper columns the suites need, computed from the catalogue (see each suite's notes)."""
    if kind == TERM:
        catalogue = indicators_of("term")
        value_type = frame["indicator_code"].map(
            lambda c: catalogue[c].value_type if c in catalogue else None)
        is_count, is_percent = value_type == "count", value_type == "percent"
        return frame.assign(
            count_target_value=frame["target_value"].where(is_count),
            count_actual_value=frame["actual_value"].where(is_count),
            percent_actual_value=frame["actual_value"].where(is_percent),
        )
    if kind == EMULATION:
        catalogue = indicators_of("emulation")
        maxima = frame["criterion_code"].map(
            lambda c: catalogue[c].max_points if c in catalogue else None).astype("float64")
        return frame.assign(catalogue_max_points=maxima,
                            catalogue_max_points_text=maxima.map(rules.number_text))
    return frame


def _poverty_cells(frame: pd.DataFrame, text: pd.DataFrame) -> tuple[pd.DataFrame, None]:
    """District rows in long form, one row per cell: one expectation covers every column.

    The total row is left out: it is checked against the sum of the district rows (rules)."""
    keep = ~frame["is_total"].astype(bool).to_numpy()
    frame, text = frame[keep], text[keep]
    if frame.empty:
        return frame, None
    measures = list(rules.POVERTY_MEASURES)
    counts = [c.name for c in layout.SHEETS[POVERTY].columns if c.kind == "count"]
    ids = ["_file", "excel_row", "district_name"]
    cells = frame.melt(id_vars=ids, value_vars=measures, var_name="measure", value_name="value")
    written = text.melt(id_vars=["_file"], value_vars=measures, value_name="value_text")
    cells["value"] = cells["value"].astype("float64")
    cells["value_text"] = written["value_text"].to_numpy()  # melt keeps the same order
    cells["count_value"] = cells["value"].where(cells["measure"].isin(counts))
    cells["district_key"] = pd.Series(
        [fold(name) or None for name in cells["district_name"]], index=cells.index, dtype=object)
    return cells, None


def _info_suite_frame(files: list[ParsedFile]) -> pd.DataFrame:
    records = []
    for i, f in enumerate(files):
        info = f.info
        if not info.rows:
            continue  # no ThongTin sheet: reported when parsing
        period = parse_period(info.period) if info.period else None
        official = province_name(info.province_code, period) if info.province_code else None
        records.append({
            "_file": i, **{k: info.raw.get(k) or getattr(info, k) for k in _INFO_FIELDS},
            "province_name_key": fold(info.province_name) or None,
            "catalogue_province_name": official,
            "catalogue_name_key": fold(official) or None,
        })
    frame = pd.DataFrame.from_records(records)
    if not frame.empty:
        frame["report_date"] = frame["report_date"].astype(str)
    return frame


def suite_frames(files: list[ParsedFile], stacked=None
                 ) -> dict[str, tuple[pd.DataFrame, pd.DataFrame | None]]:
    """kind -> (frame for GX, cells as written), for the kinds present in this run."""
    stacked = stacked or rules.stack_sheets(files)
    frames: dict[str, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
    info = _info_suite_frame(files)
    if not info.empty:
        frames[INFO_KIND] = (info.assign(_row=np.arange(len(info))), None)
    for kind in (TERM, EMULATION, POVERTY):
        frame, text = stacked[kind]
        if frame.empty:
            continue
        if kind == POVERTY:
            frame, text = _poverty_cells(frame, text)
            if frame.empty:
                continue
        frame = _catalogue_frame(frame, kind)
        frames[kind] = (frame.assign(_row=np.arange(len(frame))), text)
    return frames


# ---------------------------------------------------------------- running and placing

def run_suites(files: list[ParsedFile], stacked=None) -> dict[str, object]:
    """Run each suite once over the run's stacked sheets; findings go to their files.

    Returns the GX validation results by sheet kind (for inspection)."""
    frames = suite_frames(files, stacked)
    if not frames:
        return {}
    gx = engine()
    results = {}
    for kind, (frame, text) in frames.items():
        result = gx.definitions[kind].run(batch_parameters={"dataframe": frame},
                                          result_format=_RESULT_FORMAT)
        results[kind] = result
        for outcome in result.results:
            if outcome.success:
                continue
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                raise RuntimeError(f"expectation {outcome.expectation_config.type} failed to run:"
                                   f" {outcome.exception_info.get('exception_message')}")
            _place(files, kind, frame, text, outcome)
    return results


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _place(files, kind, frame: pd.DataFrame, text, outcome) -> None:
    config = outcome.expectation_config
    meta, kwargs = config.meta or {}, config.kwargs
    severity = "warning" if str(getattr(config.severity, "value", config.severity)) in (
        "warning", "info") else "error"
    column = meta.get("column") or kwargs.get("column") or kwargs.get("column_A")
    column_from = meta.get("column_from")  # long frames: the column is a field of the row
    extra = {"catalogue": ", ".join(kwargs.get("value_set") or [])}
    seen: set[tuple] = set()
    index = outcome.result.get("unexpected_index_list")
    if index is None:  # a table-level expectation: every file of the frame
        rows = frame.drop_duplicates("_file")["_row"].tolist()
        column = None
    else:
        rows = [entry["_row"] for entry in index]
    for row in rows:
        record = frame.iloc[int(row)]
        if column_from:
            column = record[column_from]
        key = (int(record["_file"]), record.get("excel_row"), column)
        if key in seen:
            continue  # a long frame repeats a row once per cell
        seen.add(key)
        parsed = files[int(record["_file"])]
        fields = {k: ("" if _missing(v) else v) for k, v in record.items()} | extra
        if kind == INFO_KIND:
            info = parsed.info
            value = info.raw.get(column) if column else None
            sheet, excel_row = info.sheet_name, info.rows.get(column) if column else None
            header = _INFO_LABEL.get(column) if column else None
        else:
            sheet_data = parsed.sheets[kind]
            sheet, excel_row = sheet_data.sheet_name, int(record["excel_row"])
            header = rules.header_text(sheet_data.headers.get(column)) if column else None
            if "value_text" in record:
                cell = record["value_text"]
            else:
                cell = text.at[record.name, column] if column and column in text else None
            value = cell if cell not in (None, "") else (
                rules.number_text(record[column]) if column and column in record
                and not isinstance(record[column], str) else None)
            if index is None:
                excel_row = None
        fields["value"] = value or ""
        parsed.findings.append(Finding(
            rule=meta.get("rule", config.type), severity=severity,
            message_vi=_fmt(meta.get("message_vi", config.type), fields),
            message_en=_fmt(meta.get("message_en", config.type), fields),
            sheet=sheet, excel_row=excel_row, column=header, value=value,
            expected=f"{_fmt(meta.get('expected_vi', ''), fields)} / "
                     f"{_fmt(meta.get('expected_en', ''), fields)}",
        ))


def _fmt(template: str, fields: dict) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return template
