"""The file lifecycle: inbox -> archive -> read -> validate -> load -> quarantine or done.

`process_files` is what both `lhpn run` and the Airflow ingest DAG call. Every received file is
copied byte for byte into the archive before anything else; bad input never raises, it becomes
a rejected submission with a report in the quarantine; only failures of the system raise.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ingest import settings
from ingest.load import submissions as load
from ingest.model import Finding, ParsedFile
from ingest.receive.inbox import folder_province, list_inbox
from ingest.settings import Home
from ingest.warehouse import query

__all__ = ["FileResult", "RunSummary", "list_inbox", "process_files"]


@dataclass
class FileResult:
    path: str
    source_file: str
    province_code: str
    event: str  # accepted | accepted_with_warnings | rejected | duplicate | deferred | failed
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


@dataclass
class RunSummary:
    run_id: str
    results: list[FileResult] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def count(self, *events: str) -> int:
        return sum(1 for r in self.results if r.event in events)

    @property
    def changed(self) -> bool:
        """Accepted data changed: the marts need a rebuild."""
        return self.count("accepted", "accepted_with_warnings") > 0

    @property
    def failed(self) -> int:
        return self.count("failed")

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "files": len(self.results),
            "accepted": self.count("accepted", "accepted_with_warnings"),
            "with_warnings": self.count("accepted_with_warnings"),
            "rejected": self.count("rejected"),
            "duplicates": self.count("duplicate"),
            "deferred": self.count("deferred"),
            "failed": self.failed,
            "rows": sum(r.rows for r in self.results),
            "changed": self.changed,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "results": [asdict(r) for r in self.results],
        }


def archive_bytes(data_home: Home, sha256: str, suffix: str, data: bytes) -> Path:
    """Content-addressed copy, written atomically; the same bytes are stored once."""
    target = data_home.archive / sha256[:2] / f"{sha256}{suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def _quarantine(data_home: Home, parsed: ParsedFile, data: bytes, report_text: str) -> Path:
    folder = data_home.quarantine / (parsed.folder_province or "_khong_ro_tinh")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / parsed.source_file
    if target.exists() and target.read_bytes() != data:
        target = folder / f"{Path(parsed.source_file).stem}.{parsed.sha256[:8]}{target.suffix}"
    target.write_bytes(data)
    report = target.with_name(target.name + ".errors.txt")
    report.write_text(report_text, encoding="utf-8")
    return report


def _warnings_report(data_home: Home, parsed: ParsedFile, report_text: str) -> Path:
    folder = data_home.reports / (parsed.folder_province or "_khong_ro_tinh")
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / f"{parsed.source_file}.warnings.txt"
    report.write_text(report_text, encoding="utf-8")
    return report



LOAD_BATCH = 100  # files per load transaction: a crash costs at most one batch's re-run
PARALLEL_MIN_FILES = 64  # below this, starting worker processes costs more than it saves


def _parsed(item: _Received) -> ParsedFile:
    _parse(item.path, item.data, item.parsed)
    return item.parsed


def _parse_all(items: list[_Received]) -> list[ParsedFile]:
    """Parse files in order; a large run is spread over worker processes (parsing is CPU-bound
    Python, and each file is independent)."""
    workers = min(settings.workers(), len(items) // (PARALLEL_MIN_FILES // 2))
    if workers < 2:
        return [_parsed(item) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_parsed, items, chunksize=16))


def _file_error(rule: str, vi: str, en: str) -> Finding:
    """A problem of the whole file (no sheet, row or column to name)."""
    return Finding(rule=rule, severity="error", message_vi=vi, message_en=en)


def _parse(path: Path, data: bytes, parsed: ParsedFile) -> None:
    """Read and normalise; any problem of the input becomes a finding, never an exception."""
    from ingest.read.normalise import parse_workbook
    from ingest.read.reader import UnreadableFile, read_file

    limit = settings.max_file_bytes()
    if len(data) > limit:
        parsed.findings.append(_file_error(
            "too_large",
            f"Tệp quá lớn ({len(data) / 1e6:.1f} MB); giới hạn là {limit / 1e6:.0f} MB.",
            f"The file is too large ({len(data) / 1e6:.1f} MB); the limit is {limit / 1e6:.0f} MB.",
        ))
        return
    try:
        sheets = read_file(path, data)
    except UnreadableFile as exc:
        parsed.findings.append(_file_error(exc.rule, exc.message_vi, exc.message_en))
        return
    try:
        parse_workbook(parsed, sheets)
    except Exception as exc:  # noqa: BLE001 - a workbook shaped like nothing we expect
        parsed.findings.append(_file_error(
            "unreadable",
            f"Không đọc được nội dung bảng tính: {type(exc).__name__}: {exc}",
            f"The workbook's content cannot be read: {type(exc).__name__}: {exc}",
        ))


@dataclass
class _Received:
    path: Path
    parsed: ParsedFile
    data: bytes
    archive_path: str
    received_at: datetime


def process_files(paths: list[str], *, run_id: str | None = None, trigger: str = "cli",
                  progress: Callable[[FileResult, int, int], None] | None = None) -> RunSummary:
    """Archive, read, validate (all files together) and load each file in its own transaction."""
    from ingest import warehouse
    from ingest.outbox.receipts import write_receipts
    from ingest.validate import report
    from ingest.validate import run as validate

    data_home = settings.home().ensure()
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary = RunSummary(run_id)
    url = warehouse.warehouse_url()
    settle = settings.settle_seconds()
    clock = time.perf_counter
    total = len(paths)
    done = 0

    def finish(result: FileResult) -> None:
        nonlocal done
        done += 1
        summary.results.append(result)
        if progress:
            progress(result, done, total)

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into audit.runs (run_id, trigger) values (%s, %s)", [run_id, trigger])
        # 1. receive: archive every file byte for byte before anything else
        t0 = clock()
        arrived: list[_Received] = []
        for raw_path in paths:
            item = _arrive(Path(raw_path), data_home, settle, finish)
            if item is not None:
                arrived.append(item)
        # claim: one run per file content at a time (released when the connection closes)
        shas = [item.parsed.sha256 for item in arrived]
        claimed = {sha for sha, ok in conn.execute(
            "select sha, pg_try_advisory_lock(hashtextextended(sha, 0))"
            " from unnest(%s::text[]) as sha", [shas]) if ok}
        arrived = [item for item in arrived if item.parsed.sha256 in claimed]
        with conn.cursor() as cur:
            cur.executemany(query("log_event"), [
                load.log_row(run_id, item.parsed.sha256, item.parsed.source_file,
                             item.parsed.folder_province, "received",
                             message=f"{item.parsed.size_bytes} bytes")
                for item in arrived])
        known = {r[0] for r in conn.execute(
            "select sha256 from raw.submissions where sha256 = any(%s)", [shas])}
        fresh: list[_Received] = []
        for item in arrived:
            if item.parsed.sha256 in known:
                _drop_duplicate(conn, run_id, item.path, item.parsed.folder_province,
                                item.parsed.sha256, finish)
            else:
                known.add(item.parsed.sha256)  # a second copy in the same run is a duplicate
                fresh.append(item)
        summary.seconds["receive"] = clock() - t0

        # 2. read and normalise (on every core when the run is large)
        t0 = clock()
        for item, parsed in zip(fresh, _parse_all(fresh), strict=True):
            item.parsed = parsed
        summary.seconds["read"] = clock() - t0

        # 3. validate the run's files together
        t0 = clock()
        validate.validate([item.parsed for item in fresh], conn)
        # a check that could not run is the system's fault: such a file is not judged
        for item in [item for item in fresh if item.parsed.undecided]:
            finish(_undecided(conn, run_id, item))
        fresh = [item for item in fresh if not item.parsed.undecided]
        summary.seconds["validate"] = clock() - t0

        # 4. load in batches, one transaction each; then clear the inbox
        t0 = clock()
        for start in range(0, len(fresh), LOAD_BATCH):
            for result in _load(conn, data_home, fresh[start:start + LOAD_BATCH], run_id,
                                report.render_report):
                finish(result)
        summary.seconds["load"] = clock() - t0

        conn.execute(
            "update audit.runs set finished_at = now(), files_seen = %s, accepted = %s,"
            " rejected = %s, duplicates = %s, deferred = %s, status = %s where run_id = %s",
            [len(summary.results), summary.count("accepted", "accepted_with_warnings"),
             summary.count("rejected"), summary.count("duplicate"), summary.count("deferred"),
             "failed" if summary.failed else "succeeded", run_id])
        write_receipts(summary.results, conn)
        conn.execute("select pg_advisory_unlock_all()")
    return summary


def _arrive(path: Path, data_home: Home, settle: float, finish) -> _Received | None:
    """Read a settled file once and archive it; None when it is not ready (or gone)."""
    province = folder_province(path, data_home.inbox) if path.is_relative_to(
        data_home.inbox) else path.parent.name
    try:
        stat = path.stat()
        if time.time() - stat.st_mtime < settle:
            finish(FileResult(str(path), path.name, province, "deferred",
                              message="still being written; left for the next run"))
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        return None  # taken by a concurrent run
    if len(data) != stat.st_size:
        finish(FileResult(str(path), path.name, province, "deferred",
                          message="size changed while reading; left for the next run"))
        return None
    sha = hashlib.sha256(data).hexdigest()
    archived = archive_bytes(data_home, sha, path.suffix, data)
    return _Received(path, ParsedFile(path, path.name, province, sha, len(data)), data,
                     str(archived.relative_to(data_home.root)),
                     datetime.fromtimestamp(min(stat.st_mtime, time.time()), UTC))


def _drop_duplicate(conn, run_id, path: Path, province: str, sha: str, finish) -> None:
    load.log_event(conn, run_id, sha, path.name, province, "duplicate", None,
                   "same bytes already received; nothing changed")
    path.unlink(missing_ok=True)
    finish(FileResult(str(path), path.name, province, "duplicate", sha256=sha,
                      message="đã nhận trước đó / already received"))


def _load(conn, data_home: Home, items: list[_Received], run_id: str,
          render) -> list[FileResult]:
    """Load `items` in one transaction; if that fails, file by file, so a failure stays the
    failing file's own. Reports are written before the commit (a crash after it leaves them
    in place); inbox files are removed only after it."""
    reports: dict[str, Path] = {}
    for item in items:
        if item.parsed.errors:
            reports[item.parsed.sha256] = _quarantine(data_home, item.parsed, item.data,
                                                      render(item.parsed))
    try:
        loaded = load.load_batch(conn, [load.Incoming(i.parsed, i.archive_path, i.received_at)
                                        for i in items], run_id)
    except psycopg.Error as exc:
        if len(items) > 1:
            return [r for item in items for r in _load(conn, data_home, [item], run_id, render)]
        parsed = items[0].parsed
        load.log_event(conn, run_id, parsed.sha256, parsed.source_file, parsed.folder_province,
                       "failed", None, str(exc)[:500])
        return [_result(items[0], event="failed", message=f"{type(exc).__name__}: {exc}")]
    results = []
    for item, done in zip(items, loaded, strict=True):
        parsed = item.parsed
        item.path.unlink(missing_ok=True)
        if done.duplicate:
            results.append(_result(item, event="duplicate", message="loaded by a concurrent run"))
            continue
        report_path = reports.get(parsed.sha256)
        if not parsed.errors and parsed.warnings:
            report_path = _warnings_report(data_home, parsed, render(parsed))
        results.append(_result(item, submission_id=done.submission_id, version=done.version,
                               rows=done.rows, report=str(report_path) if report_path else None))
    return results


def _undecided(conn, run_id: str, item: _Received) -> FileResult:
    """A file a validation check could not run on: `failed`, left in the inbox (archived)."""
    from ingest.validate.run import fault_note

    parsed, note = item.parsed, fault_note(item.parsed)
    load.log_event(conn, run_id, parsed.sha256, parsed.source_file, parsed.folder_province,
                   "failed", None, note[:500])
    return _result(item, event="failed", message=note)


def _result(item: _Received, **fields) -> FileResult:
    from ingest.validate.run import fault_note

    parsed = item.parsed
    base = dict(path=str(item.path), source_file=parsed.source_file,
                province_code=parsed.folder_province, event=parsed.outcome,
                sha256=parsed.sha256, period=parsed.info.period, errors=len(parsed.errors),
                warnings=len(parsed.warnings), message=fault_note(parsed))
    return FileResult(**(base | fields))
