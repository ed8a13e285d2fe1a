"""Loading a chunk's files so that a failure stays the failing file's own: up to `LOAD_BATCH`
files per transaction (`submissions.load_batch`), and when a batch fails, its files one by one.
A file whose load keeps failing the same way is set aside (`poison`).

Reports are written before the commit (a crash after it leaves them in place); inbox files are
removed only after it (`Receiver.clear`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from ingest.journal import result
from ingest.load import poison, submissions
from ingest.model import FileResult
from ingest.outbox.quarantine import quarantine, warnings_report
from ingest.receive.names import display_name, portable_path

if TYPE_CHECKING:
    from ingest.receive.taking import Received, Receiver

log = logging.getLogger(__name__)

LOAD_BATCH = 100  # files per load transaction: a crash costs at most one batch's re-run


def load_all(receiver: Receiver, items: list[Received]) -> None:
    """Load `items` batch by batch; every file is answered in the journal."""
    for start in range(0, len(items), LOAD_BATCH):
        for done in load_or_retry(receiver, items[start:start + LOAD_BATCH]):
            receiver.run.finish(done)


def load_or_retry(receiver: Receiver, items: list[Received]) -> list[FileResult]:
    """Load `items` in one transaction; if that fails, file by file, so a failure stays the
    failing file's own. Reports are written before the commit (a crash after it leaves them
    in place); inbox files are removed only after it."""
    run = receiver.run
    reports: dict[str, Path] = {}
    unwritten: list[FileResult] = []
    for item in list(items):
        if item.parsed.errors:
            try:
                reports[item.parsed.sha256] = quarantine(run.home, item,
                                                         receiver.render(item.parsed))
            except OSError as exc:  # e.g. a link planted in the quarantine: refused
                unwritten.append(_unwritable(receiver, item, exc))
                items = [i for i in items if i is not item]
    if not items:
        return unwritten
    try:
        loaded = submissions.load_batch(run.conn, [
            submissions.Incoming(i.parsed, i.archive_path, i.received_at) for i in items],
            run.run_id)
    except psycopg.Error as exc:
        if len(items) > 1:
            return unwritten + [r for item in items for r in load_or_retry(receiver, [item])]
        return unwritten + [_load_failed(receiver, items[0], exc)]
    results = unwritten
    for item, done in zip(items, loaded, strict=True):
        parsed = item.parsed
        kept = receiver.clear(item)
        if done.duplicate:
            results.append(result(item, event="duplicate", kept_in_inbox=kept,
                                  message="loaded by a concurrent run"))
            continue
        report_path = reports.get(parsed.sha256)
        if not parsed.errors and parsed.warnings:
            try:
                report_path = warnings_report(run.home, item, receiver.render(parsed))
            except OSError as exc:  # loaded: the report is missing, the run goes on
                log.warning("%s: warnings report not written: %s", parsed.source_file, exc)
                report_path = None
        results.append(result(item, submission_id=done.submission_id,
                              version=done.version, rows=done.rows, kept_in_inbox=kept,
                              report=portable_path(str(report_path)) if report_path
                              else None))
    return results


def _unwritable(receiver: Receiver, item: Received, exc: OSError) -> FileResult:
    """The file's report cannot be written (a link in the quarantine, a full disk): a
    failure of the system; the file stays in the inbox for the next run."""
    parsed = item.parsed
    message = display_name(f"cannot write its report: {exc}")[:500]
    receiver.run.log_file(parsed, "failed", message)
    return result(item, event="failed", message=message)


def _load_failed(receiver: Receiver, item: Received, exc: psycopg.Error) -> FileResult:
    """The file's own load failed: `failed` (it stays in the inbox), or set aside with a
    report once it has failed the same way `LHPN_POISON_FAILURES` times."""
    run, parsed = receiver.run, item.parsed
    message = display_name(f"{type(exc).__name__}: {exc}")[:500]
    failures = run.failures(parsed.sha256, parsed.source_file, parsed.folder_province, message)
    if poison.set_aside(failures):
        parsed.findings.append(poison.poisoned(message))
        report_path = quarantine(run.home, item, receiver.render(parsed))
        run.log_file(parsed, "rejected", f"set aside: {message}")
        kept = receiver.clear(item)
        return result(item, event="rejected", report=portable_path(str(report_path)),
                      kept_in_inbox=kept,
                      message=f"set aside after {failures + 1} failures: {message}")
    run.log_file(parsed, "failed", message)
    return result(item, event="failed", message=message)
