"""The Great Expectations suites: every rule GX can state, each suite run once per run.

One suite per sheet kind, versioned JSON in `expectations/` (GX's own suite format): value sets,
formats, not-null, column pairs (A ≥ B, A = B), each with `row_condition` where it applies to some
rows only. Each runs over the stacked frame of its kind (`frames.RunFrames.suite_frame`); failures
come back as `unexpected_index_list` (the frame's `_row`) and are placed back in their file,
sheet, Excel row and column. Each expectation's `meta` carries the rule name and the bilingual
texts (templates over the fields of the row), and where needed:

- `column` / `column_from`: the column reported, where it is not the one checked;
- `right`: the other column of a pair, quoted as `{right}` as written;
- `value_from`: the field quoted as `{value}` when the place holds no cell; `quote`: a fixed text
  quoted instead of a cell (the inbox folder);
- `silenced_by`: the cells of the row (columns) whose own error already names the mistake: the
  finding is dropped then (one mistake, one finding; `run.py` applies it once every cell check
  has run);
- `frame`: `cells` for the GiamNgheo checks over one row per cell (one expectation then covers
  every count and amount column), else the sheet's rows.

An expectation that could not run (a metric raised) is no verdict on the data: GX 1.x returns it
as a failed result whose `exception_info` holds, per metric id, what was raised. It is returned
as crashed, never placed as findings, and `run.py` decides what becomes of the files.

Great Expectations is imported lazily and its context is built once per process (ephemeral:
nothing is written to disk, no `gx/` folder; analytics and progress bars off). Importing it
imports scipy (statistics for the distributional expectations) and altair (Data Docs charts),
~1 s of CPU in every process that validates, for expectations and renderers the suites never
use: while GX is imported, those two packages' Python modules are loaded on first use instead
(`importlib.util.LazyLoader` from the standard library), and never when no suite uses them.
It also imports SQLAlchemy when it finds it (Airflow installs it), for its SQL data sources
(~0.2 s of CPU); SQLAlchemy is one of GX's optional extras, and the suites run on pandas: in a
process that has not loaded SQLAlchemy yet, GX is imported as where it is not installed (an
Airflow process has it loaded already, and GX there sees it).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from ingest import settings
from ingest.model import EMULATION, INFO_SHEET, POVERTY, TERM, Finding
from ingest.reference import indicators_of, provinces_new, provinces_old
from ingest.validate.frames import RunFrames
from ingest.validate.placement import Place, Texts, at_cell, finding, missing, number_text, severity

SUITES = {INFO_SHEET: "thong_tin", TERM: "chi_tieu", EMULATION: "thi_dua", POVERTY: "giam_ngheo"}
_VERDICT = {"result_format": "BOOLEAN_ONLY"}
_RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"],
                  "return_unexpected_index_query": False, "partial_unexpected_count": 0}


def _value_set(source: str) -> list[str]:
    """A value set named in a suite's meta, filled from the reference data (one source)."""
    kind, _, name = source.partition(":")
    if kind == "indicators":
        return sorted(indicators_of(name))
    if kind == "provinces":
        return sorted(provinces_new() if name == "new" else provinces_old())
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


def check_name(suite: str, index: int, config) -> str:
    """How an operator reads which expectation: `giam_ngheo#3 expect_…(value)`."""
    kwargs = config.kwargs
    column = kwargs.get("column") or ",".join(kwargs.get("column_list") or []) or \
        kwargs.get("column_A", "")
    return f"{suite}#{index} {config.type}({column})"


ROWS, CELLS = "rows", "cells"  # the frame an expectation runs over (meta.frame)


def column_bounds(kind: str) -> list[tuple[str, str]]:
    """(left, right) column pairs of one row with `left <= right` in the suite of `kind` (what
    the data-entry template guards as typed)."""
    suite = load_suite_dict(SUITES[kind]) if kind in SUITES else {"expectations": []}
    return [(e["kwargs"]["column_B"], e["kwargs"]["column_A"]) for e in suite["expectations"]
            if e["type"] == "expect_column_pair_values_a_to_be_greater_than_b"
            and e["kwargs"].get("or_equal") and "row_condition" not in e["kwargs"]
            and e["meta"].get("right")]


@dataclass(frozen=True)
class _Check:
    """One expectation as the run reads it: its name for an operator, its severity, its
    `meta` (rule name and texts, kept out of GX, which copies an expectation's whole
    configuration many times per run), and the GX expectation itself."""

    name: str
    severity: str
    meta: dict
    expectation: object


def columns_read(expectations: list[dict]) -> list[str] | None:
    """The frame columns the expectations read (their columns, column pairs and lists, and the
    columns of their row conditions), with `_row` (the unexpected index): what GX is given, so
    its per-expectation work (row conditions as `DataFrame.query`, rows dropped where a value
    is missing, the batch's fingerprint) copies a few columns instead of the whole frame. None
    when an expectation names columns another way (a row condition as query text): the whole
    frame then."""
    names: list[str] = []

    def condition(node) -> bool:
        if isinstance(node, dict):
            column = node.get("column")
            if isinstance(column, dict) and isinstance(column.get("name"), str):
                names.append(column["name"])
            return all(condition(v) for k, v in node.items() if k != "column")
        if isinstance(node, list):
            return all(condition(v) for v in node)
        return not isinstance(node, str) or node in _CONDITION_WORDS

    for expectation in expectations:
        kwargs = expectation.get("kwargs", {})
        names += [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        names += list(kwargs.get("column_list") or [])
        if "condition_parser" in kwargs or not condition(kwargs.get("row_condition")):
            return None
    return list(dict.fromkeys([*names, "_row"]))


# the words a structured row condition holds besides column names and values
_CONDITION_WORDS = frozenset({"comparison", "and", "or", "nullity", "==", "!=", "<", "<=", ">",
                              ">=", "in", "not in", "is_null", "is_not_null"})


@dataclass
class _Engine:
    context: object
    batches: dict  # (kind, frame) -> GX batch definition of a whole dataframe
    suites: dict  # (kind, frame) -> GX ExpectationSuite
    checks: dict  # kind -> {expectation id: _Check}
    columns: dict  # (kind, frame) -> the columns its expectations read (None: all)

    def frames_of(self, kind: str) -> list[str]:
        return [part for k, part in self.suites if k == kind]


DEFERRED = ("scipy", "altair")  # what GX imports for features the suites do not use
ABSENT = ("sqlalchemy",)  # GX's optional extras it imports when found; the suites never use them


class _OnFirstUse:
    """An import finder that hands the pure-Python modules of `DEFERRED` a lazy loader (the
    module object exists at once, its code runs when an attribute is first read), and answers
    for `ABSENT` as where it is not installed."""

    def __init__(self):
        self.absent = {name for name in ABSENT if name not in sys.modules}  # loaded: seen whole

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in self.absent:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if top not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            if isinstance(spec.loader, importlib.machinery.SourceFileLoader):
                spec.loader = importlib.util.LazyLoader(spec.loader)
            return spec
        return None


def import_gx():
    """`great_expectations`, imported with `DEFERRED` loaded on first use and `ABSENT` (where not
    loaded yet) as not installed (see the module's docstring); the Airflow executor preloads it
    this way too."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if "great_expectations" not in sys.modules:
        finder = _OnFirstUse()
        sys.meta_path.insert(0, finder)
        try:
            import great_expectations  # noqa: F401
        finally:
            sys.meta_path.remove(finder)
    return sys.modules["great_expectations"]


def _kwargs_built_once() -> None:
    """GX 1.x's `Expectation` rebuilds its whole configuration (a pydantic `.dict()` of the
    expectation) for every key it looks up in `_get_domain_kwargs`, `_get_success_kwargs`,
    `_get_success_kwarg` and `_get_runtime_kwargs`: about ten times per call, thousands of times
    per run, ~15 % of validation's CPU. These four are replaced by ones that build it once per
    call and return the same values (`tests/test_validate.py` compares them with GX's own on
    every expectation of the suites)."""
    from great_expectations.expectations.expectation import Expectation, parse_result_format

    if GX_OWN:
        return
    GX_OWN.update({name: getattr(Expectation, name) for name in (
        "_get_domain_kwargs", "_get_success_kwargs", "_get_success_kwarg", "_get_runtime_kwargs")})
    from_gx = GX_OWN["_get_success_kwarg"]

    def looked_up(self, kwargs: dict, keys) -> dict:
        return {key: kwargs.get(key, self._get_default_value(key)) for key in keys}

    def success_of(self, kwargs: dict) -> dict:  # GX's: the success keys, then the domain's
        return looked_up(self, kwargs, self.success_keys) | looked_up(self, kwargs,
                                                                      self.domain_keys)

    def get_domain_kwargs(self) -> dict:
        return looked_up(self, self.configuration.kwargs, self.domain_keys)

    def get_success_kwargs(self) -> dict:
        return success_of(self, self.configuration.kwargs)

    def get_success_kwarg(self, key: str, default=None):
        kwargs = self.configuration.kwargs
        return kwargs[key] if key in kwargs else from_gx(self, key, default)

    def get_runtime_kwargs(self, runtime_configuration: dict | None = None) -> dict:
        runtime_configuration = runtime_configuration or {}
        kwargs = self.configuration.kwargs
        runtime = {key: runtime_configuration.get(
            key, kwargs[key] if key in kwargs else from_gx(self, key)) for key in self.runtime_keys}
        runtime |= success_of(self, kwargs)
        runtime["result_format"] = parse_result_format(runtime["result_format"])
        return runtime

    Expectation._get_domain_kwargs = get_domain_kwargs
    Expectation._get_success_kwargs = get_success_kwargs
    Expectation._get_success_kwarg = get_success_kwarg
    Expectation._get_runtime_kwargs = get_runtime_kwargs


GX_OWN: dict = {}  # GX's own methods `_kwargs_built_once` replaced, by name


@lru_cache(maxsize=1)
def engine() -> _Engine:
    """The GX context with one suite and batch definition per sheet kind and frame (built once
    per process)."""
    gx = import_gx()
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # registers the project's custom expectation with GX before any suite names it
    from ingest.validate import expect_column_values_to_be_whole_numbers  # noqa: F401

    _kwargs_built_once()

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("lhpn_run")
    batches, suites, checks, columns = {}, {}, {}, {}
    for kind, name in SUITES.items():
        suite_dict = load_suite_dict(name)
        checks[kind] = {}
        for part in (ROWS, CELLS):
            chosen = [(i, e) for i, e in enumerate(suite_dict["expectations"])
                      if e.get("meta", {}).get("frame", ROWS) == part]
            if not chosen:
                continue
            label = name if part == ROWS else f"{name}.{part}"
            suite = ExpectationSuite(**(suite_dict | {"name": label, "expectations": [
                {k: v for k, v in e.items() if k != "meta"} for _, e in chosen]}))
            suites[kind, part] = context.suites.add(suite)
            columns[kind, part] = columns_read([e for _, e in chosen])
            batches[kind, part] = source.add_dataframe_asset(label) \
                .add_batch_definition_whole_dataframe("run")
            # the check is named by its place in the suite's JSON
            checks[kind] |= {e.id: _Check(check_name(name, i, e.configuration),
                                          severity(e.configuration.severity),
                                          raw.get("meta", {}), e)
                             for (i, raw), e in zip(chosen, suites[kind, part].expectations,
                                                    strict=True)}
    return _Engine(context, batches, suites, checks, columns)


def crash_message(outcome) -> str | None:
    """What was raised while an expectation ran, or None when it ran.

    GX 1.x nests it per metric: {metric id: {raised_exception, exception_message, …}}; a
    configuration error sits at the top level."""
    info = outcome.exception_info or {}
    entries = [info] + [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "an exception was raised")
    return None


Cells = tuple[str, object, tuple]  # (sheet kind, Excel row, columns): what silences a finding


@dataclass
class CheckResult:
    """What a check (a suite, a rule) found: (file position, finding) pairs; the findings kept
    only where no error names one of their `Cells` (`silenced_by`); and what could not run
    (check name -> message)."""

    findings: list[tuple[int, Finding]] = field(default_factory=list)
    unless_broken: list[tuple[int, Finding, Cells]] = field(default_factory=list)
    crashed: dict[str, str] = field(default_factory=dict)

    def add(self, other: CheckResult) -> None:
        self.findings += other.findings
        self.unless_broken += other.unless_broken
        self.crashed |= other.crashed


def run_suite(kind: str, frames: RunFrames, checks: set[str] | None = None) -> CheckResult:
    """Run the suite of `kind` over the run's frames; with `checks`, keep only those
    expectations' results (a re-run of what crashed).

    The suite runs first for a verdict only (GX's BOOLEAN_ONLY: no lists of rows to build);
    only the expectations that failed run again, together, for the rows that failed them."""
    out = CheckResult()
    gx = engine()
    for part in gx.frames_of(kind):
        frame = frames.suite_frame(kind, part)
        if frame.empty:
            continue
        batch = gx.batches[kind, part].get_batch(
            batch_parameters={"dataframe": _narrow(frame, gx.columns[kind, part])})
        verdicts = batch.validate(gx.suites[kind, part], result_format=_VERDICT)
        ran: list[tuple[_Check, str | None, bool]] = []  # (check, crashed, failed)
        for outcome in verdicts.results:
            check = gx.checks[kind][outcome.expectation_config.id]
            if checks is None or check.name in checks:
                crashed = crash_message(outcome)
                ran.append((check, crashed, crashed is None and not outcome.success))
        again = _rows_failed(batch, [check for check, _, failed in ran if failed])
        for check, crashed, failed in ran:
            if failed:
                outcome = again[check.expectation.id]
                crashed = crash_message(outcome)
                if crashed is None and not outcome.success:
                    _placed(kind, frames, frame, outcome, check, out)
            if crashed is not None:
                out.crashed[check.name] = crashed
    return out


def _narrow(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """The columns of `frame` a suite reads (a column it names that the frame lacks stays
    missing, for GX to report as it would)."""
    if columns is None:
        return frame
    present = set(frame.columns)
    return frame[[c for c in columns if c in present]]


def _rows_failed(batch, failed: list[_Check]) -> dict:
    """The failed expectations run again for the rows that failed them (COMPLETE results), in
    one validation: GX's fixed cost per validation (a validator, a metric graph) paid once.
    Expectation id -> its result."""
    if len(failed) == 1:
        return {failed[0].expectation.id: batch.validate(failed[0].expectation,
                                                         result_format=_RESULT_FORMAT)}
    if not failed:
        return {}
    from great_expectations.core import ExpectationSuite

    again = ExpectationSuite(name="failed", expectations=[
        check.expectation.configuration for check in failed])
    results = batch.validate(again, result_format=_RESULT_FORMAT).results
    return {outcome.expectation_config.id: outcome for outcome in results}


def blocking(kind: str, check: str) -> bool:
    """A check that can reject files (severity critical) cannot be skipped."""
    found = {c.name: c.severity for c in engine().checks[kind].values()}.get(check, "error")
    return found == "error"


def _placed(kind: str, frames: RunFrames, frame: pd.DataFrame, outcome, check: _Check,
            out: CheckResult) -> None:
    """The findings of one failed expectation, one per (file, Excel row, column), into `out`."""
    config = outcome.expectation_config
    meta, kwargs = check.meta, config.kwargs
    texts = Texts(meta.get("message_vi", config.type), meta.get("message_en", config.type),
                  meta.get("expected_vi", ""), meta.get("expected_en", ""))
    column = meta.get("column") or kwargs.get("column") or kwargs.get("column_A")
    column_from = meta.get("column_from")  # long frames: the column is a field of the row
    right, value_from, quote = meta.get("right"), meta.get("value_from"), meta.get("quote")
    silenced_by = meta.get("silenced_by")
    extra = {"catalogue": ", ".join(str(v) for v in kwargs.get("value_set") or [])}
    rule, level = meta.get("rule", config.type), check.severity
    index = outcome.result.get("unexpected_index_list")
    if index is None:  # a table-level expectation: every file of the frame, no row
        rows, column = frame.drop_duplicates("_file")["_row"].tolist(), None
    else:
        rows = [entry["_row"] for entry in index]
    seen = set()
    for position in rows:
        record = frame.iloc[int(position)]
        col = record[column_from] if column_from else column
        row = None if index is None or kind == INFO_SHEET else record["excel_row"]
        key = (int(record["_file"]), None if missing(row) else int(row), col)
        if key in seen:
            continue  # a long frame repeats a row once per cell
        seen.add(key)
        parsed = frames.files[key[0]]
        place = at_cell(parsed, kind, row, col) if col or kind != INFO_SHEET else Place(
            parsed.info.sheet_name)
        if quote is not None:
            place = Place(place.sheet, place.excel_row, place.column, quote)
        # `{value}` is the cell as written: a long frame's own `value` field is the parsed
        # number of another column for a row-level check (a duplicate district)
        fields = {k: v for k, v in record.to_dict().items() if k != "value"} | extra
        if kind != INFO_SHEET and right:
            fields["value"] = place.value or number_text(record[col])
            fields["right"] = at_cell(parsed, kind, row, right).value or number_text(
                record[right])
        elif place.value is None and value_from and not missing(record[value_from]):
            fields["value"] = str(record[value_from])
        item = finding(rule, level, texts, fields, place)
        if silenced_by:
            out.unless_broken.append((key[0], item, (kind, row, tuple(silenced_by))))
        else:
            out.findings.append((key[0], item))
