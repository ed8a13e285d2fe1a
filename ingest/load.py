"""Loading one parsed file into the raw schema: one transaction, COPY for the rows.

A crash part-way rolls the transaction back, so a submission is either complete or absent and
a re-run finishes the job. Versions per (province, period) are assigned under an advisory lock,
so concurrent runs cannot give two files the same version.
"""

from __future__ import annotations

import math
import os
import signal
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ingest.layout import SHEETS
from ingest.model import POVERTY, ParsedFile
from ingest.periods import parse_period
from ingest.warehouse import query

_FINDING_COLUMNS = ("submission_id", "rule", "severity", "sheet", "excel_row", "column_header",
                    "value", "expected", "message_vi", "message_en")


@dataclass
class Loaded:
    submission_id: int | None  # None when the same bytes were already loaded
    version: int | None
    rows: int

    @property
    def duplicate(self) -> bool:
        return self.submission_id is None


def _column_values(series) -> list:
    """A column as Python values, NaN as None (COPY's NULL)."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in series.tolist()]


def sheet_columns(kind: str) -> list[str]:
    extra = ["actual_text"] if kind == "term_indicators" else []
    return ["excel_row", *[c.name for c in SHEETS[kind].columns], *extra] + (
        ["is_total"] if kind == POVERTY else [])


def load_file(conn: psycopg.Connection, parsed: ParsedFile, *, archive_path: str,
              received_at: datetime, run_id: str) -> Loaded:
    """Insert the submission, its rows and its findings, in one transaction."""
    info = parsed.info
    period = parse_period(info.period)
    outcome = parsed.outcome
    with conn.transaction():
        if outcome != "rejected":
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))",
                         [f"lhpn.version:{parsed.folder_province}|{period.code}"])
        row = conn.execute(query("insert_submission"), {
            "sha256": parsed.sha256, "source_file": parsed.source_file,
            "province_code": parsed.folder_province, "archive_path": archive_path,
            "size_bytes": parsed.size_bytes, "received_at": received_at,
            "declared_province_code": info.province_code, "province_name": info.province_name,
            "period": period.code if period else None, "term": info.term,
            "report_date": info.report_date, "prepared_by": info.prepared_by,
            "contact": info.contact, "sheets": [SHEETS[k].sheet_name for k in parsed.sheets],
            "outcome": outcome, "error_count": len(parsed.errors),
            "warning_count": len(parsed.warnings),
        }).fetchone()
        if row is None:
            return Loaded(None, None, 0)
        submission_id, version = row
        _fault_point("after_submission_row")
        rows = 0
        if outcome != "rejected":
            conn.execute(query("supersede_earlier"), {
                "province_code": parsed.folder_province, "period": period.code,
                "submission_id": submission_id})
            for kind, sheet in parsed.sheets.items():
                columns = sheet_columns(kind)
                # plain Python lists per column: much cheaper than iterating a DataFrame
                values = [_column_values(sheet.frame[c]) for c in columns]
                copy_sql = f"copy raw.{kind} (submission_id, {', '.join(columns)}) from stdin"
                with conn.cursor().copy(copy_sql) as copy:
                    for record in zip(*values, strict=True):
                        copy.write_row((submission_id, *record))
                rows += len(sheet.frame)
                _fault_point("between_sheets")
        if parsed.findings:
            with conn.cursor().copy(
                f"copy audit.validation_results ({', '.join(_FINDING_COLUMNS)}) from stdin"
            ) as copy:
                for f in parsed.findings:
                    copy.write_row((submission_id, f.rule, f.severity, f.sheet, f.excel_row,
                                    f.column, f.value, f.expected, f.message_vi, f.message_en))
        log_event(conn, run_id, parsed.sha256, parsed.source_file, parsed.folder_province,
                  outcome, submission_id,
                  f"version {version}, {rows} rows" if version else f"{len(parsed.errors)} errors")
    return Loaded(submission_id, version, rows)


def _fault_point(name: str) -> None:
    """Crash-safety tests kill the process here (LHPN_FAULT=<name>), as a power cut would."""
    if os.environ.get("LHPN_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def log_row(run_id: str, sha256: str | None, source_file: str, province_code: str | None,
            event: str, submission_id: int | None = None, message: str | None = None) -> dict:
    """Parameters of one `log_event` insert (also used batched, with executemany)."""
    return {"run_id": run_id, "sha256": sha256, "source_file": source_file,
            "province_code": province_code, "event": event, "submission_id": submission_id,
            "message": message}


def log_event(conn: psycopg.Connection, *args, **kwargs) -> None:
    conn.execute(query("log_event"), log_row(*args, **kwargs))
