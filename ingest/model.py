"""What one received file becomes: a `ParsedFile` after reading, and a `FileResult` once the run
has answered it (`RunSummary`: all of a run's answers).

Readers and normalisers produce `ParsedFile`s; validation appends `Finding`s to them; the loader
writes the accepted ones to the raw schema; the journal (`ingest.journal`) turns each into one
`FileResult`. Column names are the canonical (English) ones of the raw tables; the Vietnamese
header as written is kept for the reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ingest.labels import LOADED

# The sheet kinds (named after the raw tables they load into) are defined with the workbook
# layout, which does not import this module; passed on from here.
from ingest.read.layout import EMULATION as EMULATION
from ingest.read.layout import INFO_SHEET as INFO_SHEET
from ingest.read.layout import POVERTY as POVERTY
from ingest.read.layout import SHEET_KINDS as SHEET_KINDS
from ingest.read.layout import SHEETS
from ingest.read.layout import TERM as TERM

Severity = Literal["error", "warning"]


@dataclass
class Finding:
    """One problem found in a file, placed as a clerk sees it in Excel."""

    rule: str
    severity: Severity
    message_vi: str
    message_en: str
    sheet: str | None = None
    excel_row: int | None = None
    column: str | None = None  # the header as written in the workbook
    value: str | None = None  # the cell as written in the workbook
    expected_vi: str | None = None  # what would be right, in Vietnamese
    expected_en: str | None = None  # the same in English


def file_error(rule: str, vi: str, en: str) -> Finding:
    """A problem of the whole file (no sheet, row or column to name)."""
    return Finding(rule=rule, severity="error", message_vi=vi, message_en=en)


@dataclass
class SystemFault:
    """A check that could not run on a file: a fault of the system, never of the file.

    `blocking` faults come from checks that can reject a file: without them the file cannot be
    decided, so it is neither rejected nor loaded but left for a later run. A non-blocking fault
    (a warning-only check) lets the file be decided without that check, and the result says so.
    """

    step: str  # the validation step: suites, rules, history
    check: str  # the expectation or rule that could not run
    message: str  # what went wrong, for the operator
    blocking: bool


@dataclass
class SheetData:
    """One data sheet, normalised.

    `columns` holds the sheet's rows column by column, as plain lists (numbers as float or None
    = not reported; text as str or None): the canonical columns of the sheet kind (see
    `ingest.read.layout`), plus `excel_row` (1-based row number as Excel shows it) and, for
    poverty sheets, `is_total`. `frame` is the same as a DataFrame (numbers float64, NaN = not
    reported), made when first asked: a parsing worker sends plain lists, which cost far less to
    pass between processes than a DataFrame or arrays. `text`
    holds the cells as written, by Excel row then canonical column, for reports (each row made
    when asked: most are never quoted). `headers` maps canonical column -> header as written.
    `skipped` lists the ChiTieu rows with a code but neither a target nor a result (catalogue
    rows the province does not have, as a template lists them): (Excel row, code), not
    indicators of the report (contract §2), kept only for the receipt to mention.
    """

    kind: str
    sheet_name: str
    columns: dict[str, list]
    text: Mapping[int, dict[str, object]]
    headers: dict[str, str]
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @cached_property
    def frame(self) -> pd.DataFrame:
        numbers = {c.name for c in SHEETS[self.kind].columns if c.kind not in ("text", "code")}
        return pd.DataFrame({name: np.array(values, dtype="float64") if name in numbers
                             else values for name, values in self.columns.items()}, copy=False)

    @property
    def row_count(self) -> int:
        return len(self.columns["excel_row"])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("frame", None)  # made again where it is needed
        return state


@dataclass
class ReportInfo:
    """Sheet ThongTin, parsed. `rows` maps each field to its Excel row, `raw` to the text of its
    value cell, `labels` to the text of its label cell."""

    sheet_name: str = INFO_SHEET  # as named in the workbook ("Thông tin", "THONGTIN", ...)
    province_code: str | None = None
    province_name: str | None = None
    period: str | None = None
    term: str | None = None
    report_date: date | None = None
    prepared_by: str | None = None
    contact: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # field -> its label as written


@dataclass
class ParsedFile:
    path: Path  # where the file was read from (the inbox)
    source_file: str  # file name as dropped
    folder_province: str  # the inbox sub-folder: the sender
    sha256: str
    size_bytes: int
    info: ReportInfo = field(default_factory=ReportInfo)
    sheets: dict[str, SheetData] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    faults: list[SystemFault] = field(default_factory=list)  # checks that could not run

    @property
    def undecided(self) -> bool:
        """A check that can reject the file could not run: no verdict (neither load nor reject)."""
        return any(f.blocking for f in self.faults)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def outcome(self) -> str:
        if self.errors:
            return "rejected"
        return "accepted_with_warnings" if self.warnings else "accepted"


@dataclass
class FileResult:
    path: str
    source_file: str
    province_code: str
    # accepted | accepted_with_warnings | rejected | duplicate | deferred | failed, or refused:
    # a symbolic link, folder or special file, logged and left untouched (never read)
    event: str
    sha256: str | None = None
    submission_id: int | None = None
    version: int | None = None
    period: str | None = None
    rows: int = 0
    errors: int = 0
    warnings: int = 0
    report: str | None = None  # path of the report written for the sender
    receipt: str | None = None  # path of the receipt in the outbox (contract §3)
    message: str | None = None
    # processed, but the inbox does not let it be removed (why): later runs skip it
    kept_in_inbox: str | None = None


@dataclass
class RunSummary:
    run_id: str
    results: list[FileResult] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    # inbox files processed by an earlier run that the inbox did not let go: not taken again
    skipped: list[str] = field(default_factory=list)
    died: list[str] = field(default_factory=list)  # earlier runs found dead (marked `died`)

    def count(self, *events: str) -> int:
        return sum(1 for r in self.results if r.event in events)

    @property
    def changed(self) -> bool:
        """Accepted data changed: the marts need a rebuild."""
        return self.count(*LOADED) > 0

    @property
    def failed(self) -> int:
        return self.count("failed")

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "files": len(self.results),
            "accepted": self.count(*LOADED),
            "with_warnings": self.count("accepted_with_warnings"),
            "rejected": self.count("rejected"),
            "duplicates": self.count("duplicate"),
            "deferred": self.count("deferred"),
            "refused": self.count("refused"),
            "failed": self.failed,
            "unremovable": sum(1 for r in self.results if r.kept_in_inbox),
            "skipped": len(self.skipped),
            "died": list(self.died),
            "rows": sum(r.rows for r in self.results),
            "changed": self.changed,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "results": [asdict(r) for r in self.results],
        }
