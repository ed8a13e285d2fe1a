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


def _clean(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


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
        version = None
        if outcome != "rejected":
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))",
                         [f"lhpn.version:{parsed.folder_province}|{period.code}"])
            version = conn.execute(
                "select coalesce(max(version), 0) + 1 from raw.submissions"
                " where province_code = %s and period = %s",
                [parsed.folder_province, period.code]).fetchone()[0]
        row = conn.execute(
            """insert into raw.submissions (sha256, source_file, province_code, archive_path,
                   size_bytes, received_at, declared_province_code, province_name, period, term,
                   report_date, prepared_by, contact, sheets, outcome, status, version,
                   error_count, warning_count)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (sha256) do nothing
               returning submission_id""",
            [parsed.sha256, parsed.source_file, parsed.folder_province, archive_path,
             parsed.size_bytes, received_at, info.province_code, info.province_name,
             period.code if period else None, info.term, info.report_date, info.prepared_by,
             info.contact, [SHEETS[k].sheet_name for k in parsed.sheets], outcome, outcome,
             version, len(parsed.errors), len(parsed.warnings)],
        ).fetchone()
        if row is None:
            return Loaded(None, None, 0)
        submission_id = row[0]
        _fault_point("after_submission_row")
        rows = 0
        if outcome != "rejected":
            conn.execute(
                "update raw.submissions set status = 'superseded'"
                " where province_code = %s and period = %s and submission_id <> %s"
                " and status in ('accepted', 'accepted_with_warnings')",
                [parsed.folder_province, period.code, submission_id])
            for kind, sheet in parsed.sheets.items():
                columns = sheet_columns(kind)
                frame = sheet.frame[columns]
                copy_sql = f"copy raw.{kind} (submission_id, {', '.join(columns)}) from stdin"
                with conn.cursor().copy(copy_sql) as copy:
                    for values in frame.itertuples(index=False, name=None):
                        copy.write_row((submission_id, *map(_clean, values)))
                rows += len(frame)
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


def log_event(conn: psycopg.Connection, run_id: str, sha256: str | None, source_file: str,
              province_code: str | None, event: str, submission_id: int | None = None,
              message: str | None = None) -> None:
    conn.execute(
        "insert into audit.ingest_log (run_id, sha256, source_file, province_code, event,"
        " submission_id, message) values (%s, %s, %s, %s, %s, %s, %s)",
        [run_id, sha256, source_file, province_code, event, submission_id, message])
