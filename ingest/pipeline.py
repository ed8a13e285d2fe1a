"""The file lifecycle: inbox -> archive -> read -> validate -> load -> quarantine or done.

`process_files` is what both `lhpn run` and the Airflow ingest DAG call. Every received file is
copied byte for byte into the archive before anything else (a file over the size limit is judged
by its size alone: moved to the quarantine unread); bad input never raises, it becomes a rejected
file with a report in the quarantine; only failures of the system raise. Symbolic links and
special files in the inbox are refused with a log entry and left alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import stat
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
from ingest.read import isolated
from ingest.read.errors import RESAVE_EN, RESAVE_VI, damaged
from ingest.read.limits import mb
from ingest.receive import archive, settle
from ingest.receive.inbox import MAX_DEPTH, folder_province, list_inbox
from ingest.receive.names import display_name, local_path, portable_path, sidecar_name
from ingest.receive.seen import first_seen
from ingest.receive.settle import Seen
from ingest.settings import Home
from ingest.warehouse import query

log = logging.getLogger(__name__)

__all__ = ["FileResult", "RunSummary", "list_inbox", "process_files"]


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


def _quarantine(data_home: Home, item: _Received, report_text: str) -> Path:
    """The rejected file's copy and its report, side by side, each written atomically. The copy
    keeps the name it came with (bytes and all); the report's name fits the file system."""
    folder = archive.safe_folder(data_home.quarantine / _folder_name(item.parsed.folder_province))
    target = folder / sidecar_name(item.path.name, "")
    if os.path.lexists(target) and (not target.is_file() or target.read_bytes() != item.data):
        target = archive.free_name(folder, item.path.name, item.parsed.sha256[:8])
    archive.write_bytes_atomic(target, item.data)
    return archive.write_text_atomic(folder / sidecar_name(target.name, ".errors.txt"),
                                     report_text)


def _warnings_report(data_home: Home, item: _Received, report_text: str) -> Path:
    folder = archive.safe_folder(data_home.reports / _folder_name(item.parsed.folder_province))
    return archive.write_text_atomic(folder / sidecar_name(item.path.name, ".warnings.txt"),
                                     report_text)


def _folder_name(province: str) -> str:
    return sidecar_name(province, "") if province and province not in (".", "..") \
        else "_khong_ro_tinh"


LOAD_BATCH = 100  # files per load transaction: a crash costs at most one batch's re-run
PARALLEL_MIN_FILES = 64  # below this, one worker process parses the run's files


def _parsed(item: _Received) -> ParsedFile:
    _parse(item.path, item.data, item.parsed)
    return item.parsed


def _parse_all(items: list[_Received]) -> list[ParsedFile]:
    """Parse each file in a worker process with memory and CPU limits (`ingest.read.isolated`):
    a file that crashes or exhausts its worker is rejected alone. A large run is spread over
    several workers (parsing is CPU-bound Python, and each file is independent)."""
    from ingest.read.normalise import warm_up

    warm_up()  # the reference data, loaded once here and inherited by every worker
    workers = min(settings.workers(), max(1, len(items) // (PARALLEL_MIN_FILES // 2)))
    seconds = settings.parse_seconds()
    results = isolated.run_each(len(items), lambda i: _parsed(items[i]), workers=workers,
                                memory=settings.parse_memory_bytes(), cpu_seconds=seconds,
                                wall_seconds=2 * seconds + 10)
    parsed = []
    for item, result in zip(items, results, strict=True):
        if isinstance(result, isolated.Failure):
            item.parsed.findings.append(_isolation_finding(result))
            parsed.append(item.parsed)
        else:
            parsed.append(result)
    return parsed


def _isolation_finding(failure: isolated.Failure) -> Finding:
    if failure.kind == "memory":
        budget = mb(settings.parse_memory_bytes())
        return _file_error(
            "too_complex",
            f"Tệp quá lớn hoặc quá phức tạp để đọc: cần hơn {budget} bộ nhớ. Hãy gửi bảng tính "
            "chỉ gồm các sheet báo cáo (xóa các ô, dòng, cột thừa).",
            f"The file is too large or too complex to read: it needs more than {budget} of "
            "memory. Send a workbook with only the report sheets (delete stray cells, rows "
            "and columns).")
    if failure.kind == "time":
        limit = f"{settings.parse_seconds():.0f}"
        return _file_error(
            "too_complex",
            f"Tệp quá phức tạp để đọc: đọc tệp mất hơn {limit} giây. Hãy gửi bảng tính chỉ "
            "gồm các sheet báo cáo.",
            f"The file is too complex to read: reading it takes more than {limit} seconds. "
            "Send a workbook with only the report sheets.")
    log.warning("the reader failed (%s): %s", failure.kind, failure.detail)
    if failure.kind == "crash":
        return _file_error(
            "damaged",
            "Tệp bị hỏng hoặc quá phức tạp: chương trình đọc bảng tính dừng lại khi đọc tệp. "
            + RESAVE_VI,
            "The file is damaged or too complex: the spreadsheet reader stopped on it. "
            + RESAVE_EN)
    exc = damaged(failure.detail)
    return _file_error(exc.rule, exc.message_vi, exc.message_en)


def _file_error(rule: str, vi: str, en: str) -> Finding:
    """A problem of the whole file (no sheet, row or column to name)."""
    return Finding(rule=rule, severity="error", message_vi=vi, message_en=en)


def _parse(path: Path, data: bytes, parsed: ParsedFile) -> None:
    """Read and normalise; any problem of the input becomes a finding, never an exception
    (except MemoryError, which the worker reports for its file)."""
    from ingest.read.normalise import parse_workbook
    from ingest.read.reader import UnreadableFile, read_file

    try:
        sheets = read_file(path, data)
        parse_workbook(parsed, sheets)
    except UnreadableFile as exc:
        if exc.detail:
            log.warning("%s cannot be read: %s", parsed.source_file, exc.detail)
        parsed.findings.append(_file_error(exc.rule, exc.message_vi, exc.message_en))
    except MemoryError:
        raise
    except RecursionError:
        parsed.findings.append(_file_error(
            "too_complex",
            "Tệp quá phức tạp để đọc (cấu trúc lồng nhau quá sâu).",
            "The file is too complex to read (its structure is nested too deeply)."))
    except Exception as exc:  # noqa: BLE001 - a workbook shaped like nothing we expect
        log.warning("%s cannot be read: %s", parsed.source_file,
                    display_name(f"{type(exc).__name__}: {exc}")[:300])
        unreadable = damaged()
        parsed.findings.append(_file_error(unreadable.rule, unreadable.message_vi,
                                           unreadable.message_en))


@dataclass
class _Received:
    path: Path
    parsed: ParsedFile
    data: bytes
    archive_path: str
    received_at: datetime
    seen: Seen  # the inbox file as it was read: removed only while it is still that file


def process_files(paths: list[str], *, run_id: str | None = None, trigger: str = "cli",
                  progress: Callable[[FileResult, int, int], None] | None = None,
                  replayed: dict[str, tuple[datetime, bool]] | None = None) -> RunSummary:
    """Receive (settle, archive), read (in worker processes), validate and load the files, in
    chunks of at most CHUNK_FILES (LHPN_CHUNK_FILES; so the locks, the bytes held in memory and
    the transactions of a run stay bounded however many files wait), loading up to LOAD_BATCH
    files per transaction (file by file when a batch fails, so a failure stays the failing
    file's own).
    Every path gets exactly one `FileResult`, except a file a concurrent run took first and a
    file already processed that the inbox does not let go (`RunSummary.skipped`).

    The run is recorded in `audit.runs` with its process and database session; it ends
    `succeeded` or `failed` whatever happens, and a run killed outright is marked `died` by the
    next one (its session is gone, and with it the locks on its files)."""
    from ingest import warehouse
    from ingest.outbox.receipts import write_receipts

    data_home = settings.home().ensure()
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary = RunSummary(run_id)
    url = warehouse.warehouse_url()
    total = len(paths)
    done = 0

    def finish(result: FileResult) -> None:
        nonlocal done
        done += 1
        summary.results.append(result)
        if progress:
            progress(result, done, total)

    with psycopg.connect(url, autocommit=True) as conn:
        summary.died = mark_dead_runs(conn)
        conn.execute(query("start_run"), {"run_id": run_id, "trigger": trigger,
                                          "pid": os.getpid(), "host": socket.gethostname()})
        try:
            receiver = _Receiver(conn, run_id, data_home, finish, summary)
            receiver.replayed = replayed or {}  # `lhpn rebuild`: (first seen, backfill)
            size = settings.chunk_files(CHUNK_FILES)
            for start in range(0, len(paths), size):
                _process_chunk(conn, receiver, summary, paths[start:start + size])
        except BaseException:
            _end_run(conn, summary, "failed")
            raise
        _end_run(conn, summary, "failed" if summary.failed else "succeeded")
        # the answers: a receipt that cannot be written is logged, never undoes the run
        try:
            write_receipts(summary.results, conn)
        except Exception:  # noqa: BLE001 - the data is committed; `lhpn run` names the unanswered
            log.exception("receipts of run %s not written", run_id)
    return summary


CHUNK_FILES = 500  # files received, locked and held in memory at a time (LHPN_CHUNK_FILES)


def _process_chunk(conn: psycopg.Connection, receiver: _Receiver, summary: RunSummary,
                   paths: list[str]) -> None:
    from ingest.validate import run as validate

    clock = time.perf_counter
    seconds = summary.seconds
    # 1. receive: wait for young files to settle, archive each byte for byte
    t0 = clock()
    arrived = receiver.receive([Path(local_path(p)) for p in paths])
    # claim: one run per file content at a time; released at the end of the chunk (a run that
    # dies releases them with its session), also when the claim itself fails part-way (a full
    # lock table keeps the locks taken before it, and the run could not even be marked failed)
    shas = [item.parsed.sha256 for item in arrived]
    try:
        claimed = {sha for sha, ok in conn.execute(
            "select sha, pg_try_advisory_lock(hashtextextended(sha, 0))"
            " from unnest(%s::text[]) as sha", [shas]) if ok}
        arrived = [item for item in arrived if item.parsed.sha256 in claimed]
        # the order files were received in, beside their bytes: what `lhpn rebuild` replays
        if not receiver.replayed:  # (a replay is already in it)
            archive.append_manifest(receiver.home.archive, [
                receiver.manifest_entry(item) for item in arrived])
        with conn.cursor() as cur:
            cur.executemany(query("log_event"), [
                load.log_row(receiver.run_id, item.parsed.sha256, item.parsed.source_file,
                             item.parsed.folder_province, "received",
                             message=f"{item.parsed.size_bytes} bytes",
                             path=load.path_of(item.parsed))
                for item in arrived])
        known = {r[0] for r in conn.execute(
            "select sha256 from raw.submissions where sha256 = any(%s)", [shas])}
        fresh: list[_Received] = []
        for item in arrived:
            if item.parsed.sha256 in known:
                receiver.drop_duplicate(item)
            else:
                known.add(item.parsed.sha256)  # a second copy in the same run is a duplicate
                fresh.append(item)
        seconds["receive"] = seconds.get("receive", 0) + clock() - t0

        # 2. read and normalise, each file in a worker process with limits
        t0 = clock()
        for item, parsed in zip(fresh, _parse_all(fresh), strict=True):
            item.parsed = parsed
        seconds["read"] = seconds.get("read", 0) + clock() - t0

        # a file that looks cut short and is young is still arriving: left for a later run
        fresh = receiver.defer_fragments(fresh)

        # 3. validate the chunk's files together
        t0 = clock()
        validate.validate([item.parsed for item in fresh], conn)
        # a check that could not run is the system's fault: such a file is not judged
        for item in [item for item in fresh if item.parsed.undecided]:
            receiver.finish(_undecided(conn, receiver.run_id, item))
        fresh = [item for item in fresh if not item.parsed.undecided]
        seconds["validate"] = seconds.get("validate", 0) + clock() - t0

        # 4. load in batches, one transaction each; then clear the inbox
        t0 = clock()
        for start in range(0, len(fresh), LOAD_BATCH):
            for result in receiver.load(fresh[start:start + LOAD_BATCH]):
                receiver.finish(result)
        seconds["load"] = seconds.get("load", 0) + clock() - t0
    finally:
        if not conn.closed and not conn.broken:
            conn.execute("select pg_advisory_unlock_all()")


def mark_dead_runs(conn: psycopg.Connection) -> list[str]:
    """Runs recorded `running` whose database session has ended (killed, crashed, machine
    restarted) are marked `died`; their files are still in the inbox and this run takes them."""
    return [r[0] for r in conn.execute(query("mark_dead_runs"))]


def _end_run(conn: psycopg.Connection, summary: RunSummary, status: str) -> None:
    if conn.closed or conn.broken:
        return  # the session is gone: the next run marks this one `died`
    try:
        conn.execute(query("end_run"), {
            "run_id": summary.run_id, "files_seen": len(summary.results),
            "accepted": summary.count("accepted", "accepted_with_warnings"),
            "rejected": summary.count("rejected"), "duplicates": summary.count("duplicate"),
            "deferred": summary.count("deferred"),
            "unremovable": sum(1 for r in summary.results if r.kept_in_inbox),
            "skipped": len(summary.skipped), "status": status})
    except psycopg.Error:
        if status == "succeeded":
            raise
        log.exception("run %s could not be marked %s", summary.run_id, status)


class _Receiver:
    """The file lifecycle around reading: receive, refuse, defer, quarantine, load, clear."""

    def __init__(self, conn: psycopg.Connection, run_id: str, data_home: Home,
                 finish: Callable[[FileResult], None], summary: RunSummary):
        from ingest.validate.report import render_report

        self.conn = conn
        self.run_id = run_id
        self.home = data_home
        self.finish = finish
        self.render: Callable[[ParsedFile], str] = render_report
        self.summary = summary
        # `lhpn rebuild`: inbox path -> (when first seen, backfill) of each replayed file
        self.replayed: dict[str, tuple[datetime, bool]] = {}
        self.unremovable = {row[0]: Seen(*row[1:])
                             for row in conn.execute(query("unremovable_recorded"))}
        for key in [k for k in self.unremovable if not os.path.lexists(local_path(k))]:
            self._forget_unremovable(Path(local_path(key)))  # the operator took it away

    # ------------------------------------------------------------ who sent what

    def _root(self, path: Path) -> Path | None:
        """The folder containment starts from: the inbox for inbox files."""
        inbox = self.home.inbox
        return inbox if path.is_relative_to(inbox) and path != inbox else None

    def manifest_entry(self, item: _Received) -> dict:
        """The line of `archive/ingest-log.jsonl` for a received file."""
        return {"run_id": self.run_id, "sha256": item.parsed.sha256,
                "archive_path": item.archive_path, "inbox_path": self.relative(item.path),
                "received_at": item.received_at.isoformat(),
                "modified_at": datetime.fromtimestamp(item.seen.mtime, UTC).isoformat(),
                "backfill": settings.backfill()}

    def relative(self, path: Path) -> str:
        """The path below the inbox (`<folder>/<name>`), any bytes, as text."""
        root = self._root(path)
        return portable_path(str(path.relative_to(root) if root else Path(path.name)))

    def _names(self, path: Path) -> tuple[str, str]:
        """(file name, province) as text safe to print and store."""
        root = self._root(path)
        province = folder_province(path, root) if root else path.parent.name
        return display_name(path.name), display_name(province)

    def _log(self, sha: str | None, path: Path, event: str, message: str,
             submission_id: int | None = None) -> None:
        name, province = self._names(path)
        load.log_event(self.conn, self.run_id, sha, name, province, event, submission_id,
                       message, path=portable_path(str(path)))

    def _log_file(self, parsed: ParsedFile, event: str, message: str) -> None:
        """The ingest-log line of a received file (its content, name and exact inbox path)."""
        load.log_event(self.conn, self.run_id, parsed.sha256, parsed.source_file,
                       parsed.folder_province, event, None, message, path=load.path_of(parsed))

    def _answer(self, path: Path, event: str, message: str, **fields) -> None:
        name, province = self._names(path)
        self.finish(FileResult(portable_path(str(path)), name, province, event, message=message,
                               **fields))

    # ------------------------------------------------------------ receive

    def receive(self, paths: list[Path]) -> list[_Received]:
        regular: list[str] = []
        for path in paths:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                self._forget_unremovable(path)
                continue  # taken by a concurrent run
            except OSError as exc:
                self.refuse(path, f"cannot be looked at ({exc.strerror})")
                continue
            if self._already_processed(path, st):
                continue
            if stat.S_ISREG(st.st_mode):
                regular.append(str(path))
            elif stat.S_ISDIR(st.st_mode) and self._too_deep(path):
                self.set_aside_folder(path)
            else:
                self.refuse(path, _kind_of(path, st, self._root(path)))
        waited = settle.wait_until_settled(regular, settings.settle_seconds(),
                                           settings.settle_wait_seconds())
        arrived = []
        for key in regular:
            path = Path(key)
            if key in waited.changing:
                self.defer(path, waited.changing[key])
            elif key in waited.ready:
                item = self._take(path, waited.ready[key])
                if item is not None:
                    arrived.append(item)
        return arrived

    def _take(self, path: Path, seen: Seen) -> _Received | None:
        """Read a settled file once and archive it; None when it was answered otherwise."""
        try:
            taken = archive.read_settled(path, self._root(path), seen, settings.max_file_bytes())
        except FileNotFoundError:
            return None
        except archive.NotAFile as exc:
            self.refuse(path, str(exc))
            return None
        except archive.Changed as exc:
            self.defer(path, f"{exc}; left for the next run")
            return None
        except archive.TooLarge as exc:
            self.reject_unread(path, seen, _too_large(exc.size))
            return None
        except OSError as exc:
            self.fail_unread(path, seen, f"{type(exc).__name__}: {exc.strerror or exc}")
            return None
        data = taken.data
        sha = hashlib.sha256(data).hexdigest()
        archived = archive.archive_bytes(self.home.archive, sha, path.suffix, data)
        name, province = self._names(path)
        # received = first seen by the warehouse, never the mtime a copy keeps (contract §7)
        replayed = self.replayed.get(portable_path(str(path)))
        received_at = first_seen(self.conn, sha, path, province, seen,
                                 replayed[1] if replayed else settings.backfill())
        if replayed:  # `lhpn rebuild`: first seen when the archive says it was
            received_at = self.conn.execute(query("replay_seen"), {
                "sha256": sha, "first_seen_at": replayed[0]}).fetchone()[0]
        return _Received(path, ParsedFile(path, name, province, sha, len(data)), data,
                         str(archived.relative_to(self.home.root)), received_at, seen)

    # ------------------------------------------------------------ files the inbox keeps

    def _already_processed(self, path: Path, st: os.stat_result) -> bool:
        """A file processed earlier that the inbox did not let go, still as it was then: skipped
        with one log line. Changed since (new bytes, same name), it is taken like any file."""
        key = portable_path(str(path))
        recorded = self.unremovable.get(key)
        if recorded is None:
            return False
        if stat.S_ISREG(st.st_mode) and Seen.of(st) == recorded:
            log.info("skipped %s: processed earlier, the inbox does not let it be removed",
                     display_name(key))
            self.summary.skipped.append(key)
            return True
        self._forget_unremovable(path)
        return False

    def _forget_unremovable(self, path: Path) -> None:
        key = portable_path(str(path))
        if self.unremovable.pop(key, None) is not None:
            self.conn.execute(query("forget_unremovable"), {"path": key})

    def _keep_unremovable(self, path: Path, seen: Seen, sha: str | None,
                          exc: archive.Unremovable) -> str:
        """Record a processed file the inbox does not let go (by path, what lstat showed and
        its content); later runs skip it. Returns the reason, for the run summary."""
        name, province = self._names(path)
        reason = f"cannot be removed from the inbox ({exc.strerror}); later runs skip it"
        key = portable_path(str(path))
        self.conn.execute(query("record_unremovable"), {
            "path": key, "sha256": sha, "size_bytes": seen.size, "mtime_ns": seen.mtime_ns,
            "inode": seen.inode, "device": seen.device, "source_file": name,
            "province_code": province, "reason": reason, "run_id": self.run_id})
        self.unremovable[key] = seen
        load.log_event(self.conn, self.run_id, sha, name, province, "kept", None, reason,
                       path=key)
        log.warning("%s/%s: %s", province, name, reason)
        return reason

    def refuse(self, path: Path, why: str) -> None:
        """A symbolic link, folder or special file: logged, never read, moved or deleted."""
        message = f"refused, not read: {why}"
        self._log(None, path, "refused", message)
        self._answer(path, "refused", message)

    def _too_deep(self, path: Path) -> bool:
        root = self._root(path)
        return root is not None and len(path.relative_to(root).parts) >= MAX_DEPTH

    def set_aside_folder(self, path: Path) -> None:
        """A folder nested too deep to walk: moved (not read) into the quarantine, with a
        report, so it neither blocks the inbox nor comes back on every run."""
        name, province = self._names(path)
        finding = _file_error(
            "too_deep",
            f"Thư mục lồng quá sâu (hơn {MAX_DEPTH} cấp) nên không được đọc; đã chuyển ra khỏi "
            "hộp thư. Hãy đặt tệp báo cáo ngay trong thư mục của tỉnh.",
            f"Folders nested deeper than {MAX_DEPTH} levels are not read; this one was moved "
            "out of the inbox. Put report files directly in the province's folder.")
        parsed = ParsedFile(path, name, province, "", 0, findings=[finding])
        folder = archive.safe_folder(self.home.quarantine / _folder_name(province))
        target = archive.free_name(folder, path.name)
        try:
            os.rename(path, target)
        except OSError as exc:
            self.refuse(path, f"folder nested deeper than {MAX_DEPTH} levels ({exc.strerror})")
            return
        report_path = archive.write_text_atomic(
            folder / sidecar_name(target.name, ".errors.txt"), self.render(parsed))
        self._log(None, path, "rejected", finding.message_en)
        self._answer(path, "rejected", finding.message_en, errors=1,
                     report=portable_path(str(report_path)))

    def defer_fragments(self, items: list[_Received]) -> list[_Received]:
        """Files that look cut short (a CSV's last line stops mid-row, a zip lacks its end)
        and are younger than LHPN_FRAGMENT_SECONDS are deferred, not answered as rejected: the
        rest of the file is probably still coming. An older one is rejected as it is."""
        from ingest.read.reader import FRAGMENT

        limit = settings.fragment_seconds()
        young = [item for item in items
                 if any(f.rule == FRAGMENT for f in item.parsed.findings)
                 and time.time() - item.seen.mtime < limit]
        for item in young:
            self.defer(item.path, "looks cut short (the rest may still be coming); left for "
                                  "the next run")
        if young and not self.replayed:  # a replay does not defer again
            archive.append_manifest(self.home.archive, [
                {**self.manifest_entry(item), "deferred": True} for item in young])
        return [item for item in items if item not in young]

    def defer(self, path: Path, why: str) -> None:
        self._log(None, path, "deferred", why)
        self._answer(path, "deferred", why)

    # ------------------------------------------------------------ files that are never parsed

    def reject_unread(self, path: Path, seen: Seen, finding: Finding,
                      event_message: str | None = None) -> None:
        """Quarantine a file without reading it (too large, or set aside after failures)."""
        name, province = self._names(path)
        parsed = ParsedFile(path, name, province, "", seen.size, findings=[finding])
        kept = None
        try:
            moved = archive.move_out(path, self._root(path), seen,
                                     self.home.quarantine / _folder_name(province))
        except FileNotFoundError:
            return
        except archive.LinkRefused as exc:
            message = display_name(f"cannot be set aside: {exc}")[:500]
            self._log(None, path, "failed", message)
            self._answer(path, "failed", message)
            return
        except archive.Unremovable as exc:
            moved = getattr(exc, "target", None)
            if moved is None:
                # not even a copy could be made (the inbox refuses the rename and the copy):
                # answered as rejected with its report in the quarantine, the file stays
                moved = archive.free_name(archive.safe_folder(
                    self.home.quarantine / _folder_name(province)), path.name)
            kept = self._keep_unremovable(path, seen, None, exc)
        if moved is None:
            self.defer(path, "changed while being set aside; left for the next run")
            return
        report_path = archive.write_text_atomic(
            moved.with_name(sidecar_name(moved.name, ".errors.txt")), self.render(parsed))
        message = event_message or finding.message_en
        self._log(None, path, "rejected", message)
        self._answer(path, "rejected", message, errors=1,
                     report=portable_path(str(report_path)), kept_in_inbox=kept)

    def fail_unread(self, path: Path, seen: Seen, message: str) -> None:
        """The system could not read the file: it stays for the next run, unless it failed the
        same way too often (then it is set aside with a report)."""
        name, province = self._names(path)
        if self._failures(None, name, province, message) + 1 >= settings.poison_failures():
            self.reject_unread(path, seen, _poisoned(message), f"set aside: {message}")
            return
        self._log(None, path, "failed", message)
        self._answer(path, "failed", message)

    def _failures(self, sha: str | None, name: str, province: str, message: str) -> int:
        return self.conn.execute(query("count_failures"), {
            "sha256": sha, "source_file": name, "province_code": province,
            "message": message}).fetchone()[0]

    # ------------------------------------------------------------ after reading

    def drop_duplicate(self, item: _Received) -> None:
        parsed = item.parsed
        self._log_file(parsed, "duplicate", "same bytes already received; nothing changed")
        kept = self._clear(item)
        self.finish(FileResult(portable_path(str(item.path)), parsed.source_file,
                               parsed.folder_province,
                               "duplicate", sha256=parsed.sha256,
                               message="đã nhận trước đó / already received",
                               kept_in_inbox=kept))

    def _clear(self, item: _Received) -> str | None:
        """Remove the inbox file if it still holds the archived bytes; else keep it (a writer
        came back: the next run takes the new content) and say so in the log. A file the inbox
        does not let go is recorded as processed (returns why), so later runs skip it."""
        try:
            removed = archive.remove_if_unchanged(item.path, self._root(item.path), item.seen,
                                                  item.parsed.sha256)
        except archive.Unremovable as exc:
            return self._keep_unremovable(item.path, item.seen, item.parsed.sha256, exc)
        if not removed and item.path.exists():
            self._log_file(item.parsed, "kept",
                           "changed after it was read: left in the inbox for the next run")
        return None

    def load(self, items: list[_Received]) -> list[FileResult]:
        """Load `items` in one transaction; if that fails, file by file, so a failure stays the
        failing file's own. Reports are written before the commit (a crash after it leaves them
        in place); inbox files are removed only after it."""
        reports: dict[str, Path] = {}
        unwritten: list[FileResult] = []
        for item in list(items):
            if item.parsed.errors:
                try:
                    reports[item.parsed.sha256] = _quarantine(self.home, item,
                                                              self.render(item.parsed))
                except OSError as exc:  # e.g. a link planted in the quarantine: refused
                    unwritten.append(self._unwritable(item, exc))
                    items = [i for i in items if i is not item]
        if not items:
            return unwritten
        try:
            loaded = load.load_batch(self.conn, [
                load.Incoming(i.parsed, i.archive_path, i.received_at) for i in items],
                self.run_id)
        except psycopg.Error as exc:
            if len(items) > 1:
                return unwritten + [r for item in items for r in self.load([item])]
            return unwritten + [self._load_failed(items[0], exc)]
        results = unwritten
        for item, done in zip(items, loaded, strict=True):
            parsed = item.parsed
            kept = self._clear(item)
            if done.duplicate:
                results.append(_result(item, event="duplicate", kept_in_inbox=kept,
                                       message="loaded by a concurrent run"))
                continue
            report_path = reports.get(parsed.sha256)
            if not parsed.errors and parsed.warnings:
                try:
                    report_path = _warnings_report(self.home, item, self.render(parsed))
                except OSError as exc:  # loaded: the report is missing, the run goes on
                    log.warning("%s: warnings report not written: %s", parsed.source_file, exc)
                    report_path = None
            results.append(_result(item, submission_id=done.submission_id,
                                   version=done.version, rows=done.rows, kept_in_inbox=kept,
                                   report=portable_path(str(report_path)) if report_path
                                   else None))
        return results

    def _unwritable(self, item: _Received, exc: OSError) -> FileResult:
        """The file's report cannot be written (a link in the quarantine, a full disk): a
        failure of the system; the file stays in the inbox for the next run."""
        parsed = item.parsed
        message = display_name(f"cannot write its report: {exc}")[:500]
        self._log_file(parsed, "failed", message)
        return _result(item, event="failed", message=message)

    def _load_failed(self, item: _Received, exc: psycopg.Error) -> FileResult:
        parsed = item.parsed
        message = display_name(f"{type(exc).__name__}: {exc}")[:500]
        failures = self._failures(parsed.sha256, parsed.source_file, parsed.folder_province,
                                  message)
        if failures + 1 >= settings.poison_failures():
            parsed.findings.append(_poisoned(message))
            report_path = _quarantine(self.home, item, self.render(parsed))
            self._log_file(parsed, "rejected", f"set aside: {message}")
            kept = self._clear(item)
            return _result(item, event="rejected", report=portable_path(str(report_path)),
                           kept_in_inbox=kept,
                           message=f"set aside after {failures + 1} failures: {message}")
        self._log_file(parsed, "failed", message)
        return _result(item, event="failed", message=message)


def _kind_of(path: Path, st: os.stat_result, root: Path | None) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "symbolic link (links are never followed)"
    if stat.S_ISDIR(st.st_mode):
        return "a folder that cannot be read" if root else "a folder"
    return "not a regular file (device, pipe or socket)"


def _too_large(size: int) -> Finding:
    limit = settings.max_file_bytes()
    return _file_error(
        "too_large",
        f"Tệp quá lớn ({mb(size)}); giới hạn là {mb(limit)}. Tệp không được đọc.",
        f"The file is too large ({mb(size)}); the limit is {mb(limit)}. It was not read.")


def _poisoned(message: str) -> Finding:
    times = settings.poison_failures()
    return _file_error(
        "system_failure",
        f"Hệ thống không xử lý được tệp này sau {times} lần thử ({message}); tệp đã được để "
        "riêng để không chặn các tệp khác. Người vận hành đã được báo; hãy liên hệ nếu cần "
        "gửi lại.",
        f"The system failed to process this file {times} times ({message}); it has been set "
        "aside so it does not hold up other files. The operator has been told; get in touch "
        "if it needs to be sent again.")


def _undecided(conn, run_id: str, item: _Received) -> FileResult:
    """A file a validation check could not run on: `failed`, left in the inbox (archived)."""
    from ingest.validate.run import fault_note

    parsed, note = item.parsed, fault_note(item.parsed)
    load.log_event(conn, run_id, parsed.sha256, parsed.source_file, parsed.folder_province,
                   "failed", None, note[:500], path=load.path_of(parsed))
    return _result(item, event="failed", message=note)


def _result(item: _Received, **fields) -> FileResult:
    from ingest.validate.run import fault_note

    parsed = item.parsed
    base = dict(path=portable_path(str(item.path)), source_file=parsed.source_file,
                province_code=parsed.folder_province, event=parsed.outcome,
                sha256=parsed.sha256, period=parsed.info.period, errors=len(parsed.errors),
                warnings=len(parsed.warnings), message=fault_note(parsed))
    return FileResult(**(base | fields))
