"""The run's journal: where every step records what became of each file.

A run is a row of `audit.runs`: started with its process and database session, ended
`succeeded` or `failed`; a run killed outright is marked `died` by the next. What happens to a
file (received, duplicate, refused, deferred, rejected, failed, kept) is a line of
`audit.ingest_log` (the load writes its own lines inside its transaction, `path_of` the same
way); the order files were received in is a line of `archive/ingest-log.jsonl`, what `lhpn
rebuild` replays. Every file gets exactly one `FileResult` in the run's `RunSummary`, through
`Journal.finish`: what the receipts answer and `lhpn run` prints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from ingest import settings
from ingest.labels import LOADED
from ingest.model import FileResult, ParsedFile, RunSummary
from ingest.receive import archive
from ingest.receive.inbox import parts_below, root_of, sender
from ingest.receive.names import portable_path
from ingest.settings import Home
from ingest.warehouse import query

if TYPE_CHECKING:
    from ingest.receive.taking import Received

log = logging.getLogger(__name__)


def mark_dead_runs(conn: psycopg.Connection) -> list[str]:
    """Runs recorded `running` whose database session has ended (killed, crashed, machine
    restarted) are marked `died`; their files are still in the inbox and this run takes them."""
    return [r[0] for r in conn.execute(query("mark_dead_runs"))]


def start_run(conn: psycopg.Connection, run_id: str, trigger: str, pid: int, host: str) -> None:
    conn.execute(query("start_run"), {"run_id": run_id, "trigger": trigger, "pid": pid,
                                      "host": host})


def end_run(conn: psycopg.Connection, summary: RunSummary, status: str) -> None:
    if conn.closed or conn.broken:
        return  # the session is gone: the next run marks this one `died`
    try:
        conn.execute(query("end_run"), {
            "run_id": summary.run_id, "files_seen": len(summary.results),
            "accepted": summary.count(*LOADED),
            "rejected": summary.count("rejected"), "duplicates": summary.count("duplicate"),
            "deferred": summary.count("deferred"),
            "unremovable": sum(1 for r in summary.results if r.kept_in_inbox),
            "skipped": len(summary.skipped), "status": status})
    except psycopg.Error:
        if status == "succeeded":
            raise
        log.exception("run %s could not be marked %s", summary.run_id, status)


def path_of(parsed: ParsedFile) -> str:
    """The exact inbox path of a file, as the ingest log keeps it (any bytes, as text)."""
    return portable_path(str(parsed.path))


def log_row(run_id: str, sha256: str | None, source_file: str, province_code: str | None,
            event: str, submission_id: int | None = None, message: str | None = None,
            path: str | None = None) -> dict:
    """Parameters of one `log_event` insert (also used batched, with executemany)."""
    return {"run_id": run_id, "sha256": sha256, "source_file": source_file,
            "province_code": province_code, "event": event, "submission_id": submission_id,
            "message": message, "path": path}


def log_event(conn: psycopg.Connection, *args, **kwargs) -> None:
    conn.execute(query("log_event"), log_row(*args, **kwargs))


def result(item: Received, **fields) -> FileResult:
    """The answer for a received file: its outcome as read and validated, unless `fields` say
    otherwise."""
    from ingest.validate.run import fault_note

    parsed = item.parsed
    base = dict(path=portable_path(str(item.path)), source_file=parsed.source_file,
                province_code=parsed.folder_province, event=parsed.outcome,
                sha256=parsed.sha256, period=parsed.info.period, errors=len(parsed.errors),
                warnings=len(parsed.warnings), message=fault_note(parsed))
    return FileResult(**(base | fields))


class Journal:
    """One run's record of its files: log lines, the received-order manifest, the answers."""

    def __init__(self, conn: psycopg.Connection, run_id: str, data_home: Home,
                 summary: RunSummary,
                 progress: Callable[[FileResult, int, int], None] | None = None, total: int = 0):
        self.conn = conn
        self.run_id = run_id
        self.home = data_home
        self.summary = summary
        self.progress = progress
        self.total = total

    def finish(self, result: FileResult) -> None:
        """The file's one answer of the run."""
        self.summary.results.append(result)
        if self.progress:
            self.progress(result, len(self.summary.results), self.total)

    # ------------------------------------------------------------ who sent what

    def root(self, path: Path) -> Path | None:
        return root_of(path, self.home.inbox)

    def names(self, path: Path) -> tuple[str, str]:
        return sender(path, self.home.inbox)

    def relative(self, path: Path) -> str:
        """The path below the inbox (`<folder>/<name>`), any bytes, as text."""
        parts = parts_below(path, self.home.inbox)
        return portable_path("/".join(parts) if parts else path.name)

    # ------------------------------------------------------------ the ingest log

    def log(self, sha: str | None, path: Path, event: str, message: str,
            submission_id: int | None = None) -> None:
        name, province = self.names(path)
        log_event(self.conn, self.run_id, sha, name, province, event, submission_id,
                  message, path=portable_path(str(path)))

    def log_file(self, parsed: ParsedFile, event: str, message: str) -> None:
        """The ingest-log line of a received file (its content, name and exact inbox path)."""
        log_event(self.conn, self.run_id, parsed.sha256, parsed.source_file,
                  parsed.folder_province, event, None, message, path=path_of(parsed))

    def answer(self, path: Path, event: str, message: str, **fields) -> None:
        """The answer for a file that was never read (refused, deferred, set aside...)."""
        name, province = self.names(path)
        self.finish(FileResult(portable_path(str(path)), name, province, event, message=message,
                               **fields))

    def failures(self, sha: str | None, name: str, province: str, message: str) -> int:
        """How often this file failed the same way before (by content, else sender and name)."""
        return self.conn.execute(query("count_failures"), {
            "sha256": sha, "source_file": name, "province_code": province,
            "message": message}).fetchone()[0]

    def received(self, items: list[Received], replay: bool) -> None:
        """The files this run took: a `received` line each, and (unless a replay, already in it)
        their line of `archive/ingest-log.jsonl`, the order `lhpn rebuild` replays."""
        if not replay:
            self.manifest(items)
        rows = [log_row(self.run_id, item.parsed.sha256, item.parsed.source_file,
                        item.parsed.folder_province, "received",
                        message=f"{item.parsed.size_bytes} bytes", path=path_of(item.parsed))
                for item in items]
        if rows:  # one statement for the chunk (the lines as log_event would write them)
            self.conn.execute(query("log_events"), {key: [row[key] for row in rows]
                                                    for key in rows[0]})

    def manifest(self, items: list[Received], **extra) -> None:
        """Their lines of `archive/ingest-log.jsonl`, beside their bytes in the archive."""
        archive.append_manifest(self.home.archive, [{**self.manifest_entry(item), **extra}
                                                    for item in items])

    def manifest_entry(self, item: Received) -> dict:
        """The line of `archive/ingest-log.jsonl` for a received file."""
        return {"run_id": self.run_id, "sha256": item.parsed.sha256,
                "archive_path": item.archive_path, "inbox_path": self.relative(item.path),
                "received_at": item.received_at.isoformat(),
                "modified_at": datetime.fromtimestamp(item.seen.mtime, UTC).isoformat(),
                "backfill": settings.backfill()}

    def undecided(self, item: Received) -> None:
        """A file a validation check could not run on: `failed`, left in the inbox (archived)."""
        from ingest.validate.run import fault_note

        note = fault_note(item.parsed)
        self.log_file(item.parsed, "failed", note[:500])
        self.finish(result(item, event="failed", message=note))
