"""Loading parsed files into the raw schema: one transaction per batch of files, COPY for rows.

A crash part-way rolls the transaction back, so no submission is ever half-loaded and a re-run
finishes the job (the files stay in the inbox until their batch commits). Versions per
(province, period) are assigned under advisory locks, so concurrent runs cannot give two files
the same version. A batch whose load fails is retried file by file by `ingest.load.retry`, so
one file's failure stays its own.
"""

from __future__ import annotations

import math
import os
import signal
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, repeat
from operator import ne

import psycopg

from ingest.journal import path_of
from ingest.model import POVERTY, TERM, ParsedFile
from ingest.periods import parse_period
from ingest.read.layout import SHEETS
from ingest.warehouse import query

_FINDING_COLUMNS = ("submission_id", "rule", "severity", "sheet", "excel_row", "column_header",
                    "value", "expected_vi", "expected_en", "message_vi", "message_en")
_LOG_COLUMNS = ("run_id", "sha256", "source_file", "province_code", "event", "submission_id",
                "message", "path")


@dataclass
class Incoming:
    """A parsed file ready to load, with what the receive stage learnt of it."""

    parsed: ParsedFile
    archive_path: str  # relative to the data home
    received_at: datetime


@dataclass
class Loaded:
    submission_id: int | None  # None when the same bytes were already loaded
    version: int | None
    rows: int

    @property
    def duplicate(self) -> bool:
        return self.submission_id is None


def _column_values(column: list) -> list:
    """A column of `SheetData.columns` as COPY takes it: NaN as None (NULL). A column without
    NaN (nearly every one) is looked at in one pass in C: a NaN is the one value unequal to
    itself (None, text, numbers and `Number`s are equal to themselves)."""
    if not any(map(ne, column, column)):
        return column
    return [None if v.__class__ is float and math.isnan(v) else v for v in column]


def _any_nan(columns: list[list]) -> bool:
    """Does any of these columns hold a NaN? (`_column_values` on each, in one pass for all.)"""
    return any(map(ne, chain.from_iterable(columns), chain.from_iterable(columns)))


def sheet_columns(kind: str) -> list[str]:
    extra = ["actual_text"] if kind == "term_indicators" else []
    return ["excel_row", *[c.name for c in SHEETS[kind].columns], *extra] + (
        ["is_total", "commune_code"] if kind == POVERTY else [])


def _period_code(parsed: ParsedFile) -> str | None:
    period = parse_period(parsed.info.period)
    return period.code if period else None


def load_batch(conn: psycopg.Connection, batch: list[Incoming], run_id: str) -> list[Loaded]:
    """Insert the submissions, their rows, findings and log events of `batch`, in one
    transaction. Returns one `Loaded` per file, in order."""
    # each file's outcome and period code worked out once (each is asked several times)
    outcomes = [b.parsed.outcome for b in batch]
    periods = [_period_code(b.parsed) for b in batch]
    accepted = [b for b, outcome in zip(batch, outcomes, strict=True) if outcome != "rejected"]
    pairs = sorted({(b.parsed.folder_province, period)
                    for b, outcome, period in zip(batch, outcomes, periods, strict=True)
                    if outcome != "rejected"})
    with conn.transaction():
        conn.execute(query("lock_keys"), {"keys": [f"lhpn.version:{p}|{q}" for p, q in pairs]})
        latest = {(p, q): v for p, q, v in conn.execute(query("latest_versions"), {
            "province_code": [p for p, _ in pairs], "period": [q for _, q in pairs]})}
        versions: list[int | None] = []
        for b, outcome, period in zip(batch, outcomes, periods, strict=True):
            if outcome == "rejected":
                versions.append(None)
                continue
            key = (b.parsed.folder_province, period)
            latest[key] = latest.get(key, 0) + 1
            versions.append(latest[key])
        inserted = {sha: (sid, version) for sha, sid, version in conn.execute(
            query("insert_submissions"), _submission_columns(batch, versions, outcomes, periods))}
        _fault_point("after_submission_row")
        ids = {b.parsed.sha256: inserted.get(b.parsed.sha256, (None, None))[0] for b in batch}
        new_ids = [i for i in ids.values() if i is not None]
        conn.execute(query("supersede_earlier"), {"submission_ids": new_ids})
        conn.execute(query("key_lookups"))

        rows: dict[str, int] = defaultdict(int)
        for kind in SHEETS:
            columns = sheet_columns(kind)
            sheets = [(ids[b.parsed.sha256], b.parsed) for b in accepted
                      if kind in b.parsed.sheets and ids[b.parsed.sha256] is not None]
            if not sheets:
                continue
            copy_sql = f"copy raw.{kind} (submission_id, {', '.join(columns)}) from stdin"
            with conn.cursor().copy(copy_sql) as copy:
                write_row = copy.write_row
                for submission_id, parsed in sheets:
                    data = parsed.sheets[kind]
                    # the parsed columns as plain Python lists: no DataFrame on the way; each
                    # row a tuple from zip, its submission id first
                    values = [data.columns[c] for c in columns]
                    if _any_nan(values):
                        values = [_column_values(column) for column in values]
                    for record in zip(repeat(submission_id, len(values[0])), *values,
                                      strict=True):
                        write_row(record)
                    rows[parsed.sha256] += data.row_count
            _fault_point("between_sheets")

        # rejected files too: their receipt says the same of these rows
        skipped = [(b.parsed.sha256, b.parsed.sheets[TERM].skipped) for b in batch
                   if TERM in b.parsed.sheets and b.parsed.sheets[TERM].skipped
                   and ids[b.parsed.sha256]]
        if skipped:  # (a COPY of no rows would be a round trip for nothing: most batches)
            with conn.cursor().copy("copy raw.skipped_indicator_rows (submission_id, "
                                    "excel_row, indicator_code) from stdin") as copy:
                for sha, rows_skipped in skipped:
                    for excel_row, code in rows_skipped:
                        copy.write_row((ids[sha], excel_row, code))
        found = [b for b in batch if b.parsed.findings and ids[b.parsed.sha256]]
        if found:
            with conn.cursor().copy(
                f"copy audit.validation_results ({', '.join(_FINDING_COLUMNS)}) from stdin"
            ) as copy:
                for b in found:
                    for f in b.parsed.findings:
                        copy.write_row((ids[b.parsed.sha256], f.rule, f.severity, f.sheet,
                                        f.excel_row, f.column, f.value, f.expected_vi,
                                        f.expected_en, f.message_vi, f.message_en))
        with conn.cursor().copy(
            f"copy audit.ingest_log ({', '.join(_LOG_COLUMNS)}) from stdin"
        ) as copy:
            for b, version, outcome in zip(batch, versions, outcomes, strict=True):
                p = b.parsed
                sid = ids[p.sha256]
                message = (f"version {version}, {rows[p.sha256]} rows" if version
                           else f"{len(p.errors)} errors")
                copy.write_row((run_id, p.sha256, p.source_file, p.folder_province,
                                outcome if sid else "duplicate", sid,
                                message if sid else "loaded by a concurrent run", path_of(p)))
    return [Loaded(ids[b.parsed.sha256], inserted.get(b.parsed.sha256, (None, None))[1],
                   rows[b.parsed.sha256]) for b in batch]


def _submission_columns(batch: list[Incoming], versions: list[int | None],
                        outcomes: list[str], periods: list[str | None]) -> dict[str, list]:
    """The parameters of `insert_submissions`: one list per column."""
    infos = [b.parsed.info for b in batch]
    return {
        "sha256": [b.parsed.sha256 for b in batch],
        "source_file": [b.parsed.source_file for b in batch],
        "province_code": [b.parsed.folder_province for b in batch],
        "archive_path": [b.archive_path for b in batch],
        "size_bytes": [b.parsed.size_bytes for b in batch],
        "received_at": [b.received_at for b in batch],
        "declared_province_code": [i.province_code for i in infos],
        "province_name": [i.province_name for i in infos],
        "period": periods,
        "term": [i.term for i in infos],
        "report_date": [i.report_date for i in infos],
        "prepared_by": [i.prepared_by for i in infos],
        "contact": [i.contact for i in infos],
        "sheets": [",".join(SHEETS[k].sheet_name for k in b.parsed.sheets) for b in batch],
        "outcome": outcomes,
        "version": versions,
        "error_count": [len(b.parsed.errors) for b in batch],
        "warning_count": [len(b.parsed.warnings) for b in batch],
    }


def _fault_point(name: str) -> None:
    """Crash-safety tests kill the process here (LHPN_FAULT=<name>), as a power cut would."""
    if os.environ.get("LHPN_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
