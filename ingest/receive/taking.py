"""Taking files from the inbox: each path of a run is looked at by `lstat`, waited for until it
has settled, read once, archived byte for byte and claimed (one run per content at a time).

What cannot be taken is answered here, never read: links and special files are refused, a
folder too deep is set aside, a file still changing is deferred, one too large or failing the
same way too often is moved to the quarantine unread, a byte-identical copy of a file already
received is a duplicate. A processed file the inbox does not let go is recorded in
`audit.inbox_unremovable` and skipped by later runs. The inbox file is removed only while it
still holds the archived bytes (`clear`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest import settings
from ingest.journal import Journal
from ingest.load import poison
from ingest.model import FileResult, Finding, ParsedFile, file_error
from ingest.outbox.quarantine import errors_report, folder_name
from ingest.read.limits import file_too_large
from ingest.receive import archive, settle
from ingest.receive.inbox import MAX_DEPTH
from ingest.receive.names import display_name, local_path, portable_path
from ingest.receive.seen import Sighting, first_seen_all
from ingest.receive.settle import Seen
from ingest.warehouse import query

log = logging.getLogger(__name__)


@dataclass
class Received:
    path: Path
    parsed: ParsedFile
    data: bytes
    archive_path: str
    received_at: datetime | None  # set once the chunk's sightings are recorded
    seen: Seen  # the inbox file as it was read: removed only while it is still that file


class Receiver:
    """The files of one run on their way in: receive, refuse, defer, set aside, claim, clear."""

    def __init__(self, run: Journal,
                 replayed: dict[str, tuple[datetime, bool]] | None = None):
        from ingest.validate.report import render_report

        self.run = run
        self.conn = run.conn
        self.home = run.home
        self.render: Callable[[ParsedFile], str] = render_report
        # `lhpn rebuild`: inbox path -> (when first seen, backfill) of each replayed file
        self.replayed: dict[str, tuple[datetime, bool]] = replayed or {}
        # where the archive lies below the data home, as `Received.archive_path` starts
        self._archive_path = str(self.home.archive.relative_to(self.home.root))
        self.unremovable = {row[0]: Seen(*row[1:])
                            for row in self.conn.execute(query("unremovable_recorded"))}
        for key in [k for k in self.unremovable if not os.path.lexists(local_path(k))]:
            self._forget_unremovable(Path(local_path(key)))  # the operator took it away

    # ------------------------------------------------------------ receive

    def receive(self, paths: list[Path]) -> list[Received]:
        regular: list[tuple[str, Path]] = []
        looked: dict[str, os.stat_result] = {}
        for path in paths:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                self._forget_unremovable(path)
                continue  # taken by a concurrent run
            except OSError as exc:
                self.refuse(path, f"cannot be looked at ({exc.strerror})")
                continue
            if self.unremovable and self._already_processed(path, st):
                continue
            if stat.S_ISREG(st.st_mode):
                key = str(path)
                regular.append((key, path))
                looked[key] = st
            elif stat.S_ISDIR(st.st_mode) and self._too_deep(path):
                self.set_aside_folder(path)
            else:
                self.refuse(path, _kind_of(path, st, self.run.root(path)))
        waited = settle.wait_until_settled([key for key, _ in regular], settings.settle_seconds(),
                                           settings.settle_wait_seconds(), looked=looked)
        arrived = []
        limit = settings.max_file_bytes()
        # the archive's folders opened once for the chunk's files
        with archive.ArchiveFolders(self.home.archive) as folders:
            for key, path in regular:
                if key in waited.changing:
                    self.defer(path, waited.changing[key])
                elif key in waited.ready:
                    item = self._take(path, waited.ready[key], limit, folders)
                    if item is not None:
                        arrived.append(item)
        self._first_seen(arrived)
        return arrived

    def _take(self, path: Path, seen: Seen, limit: int,
              folders: archive.ArchiveFolders) -> Received | None:
        """Read a settled file once and archive it; None when it was answered otherwise."""
        try:
            taken = archive.read_settled(path, self.run.root(path), seen, limit)
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
        stored = folders.store(sha, path.suffix, data)
        name, province = self.run.names(path)
        return Received(path, ParsedFile(path, name, province, sha, len(data)), data,
                        f"{self._archive_path}/{stored}", None, seen)

    def _first_seen(self, items: list[Received]) -> None:
        """When each archived file was received: first seen by the warehouse, never the mtime
        a copy keeps (contract §7); one statement for the chunk."""
        backfill = settings.backfill()
        replayed = [self.replayed.get(portable_path(str(item.path))) for item in items]
        firsts = first_seen_all(self.conn, [
            Sighting(item.parsed.sha256, item.path, item.parsed.folder_province, item.seen,
                     again[1] if again else backfill)
            for item, again in zip(items, replayed, strict=True)])
        for item, again in zip(items, replayed, strict=True):
            item.received_at = firsts[item.parsed.sha256]
            if again:  # `lhpn rebuild`: first seen when the archive says it was
                item.received_at = self.conn.execute(query("replay_seen"), {
                    "sha256": item.parsed.sha256, "first_seen_at": again[0]}).fetchone()[0]

    def claim(self, arrived: list[Received]) -> list[Received]:
        """Take the files no other run holds: one run per file content at a time, released by
        `release` (a run that dies releases them with its session). Each is journalled as
        received; a copy of bytes already received is answered as a duplicate. Returns the new
        files."""
        shas = [item.parsed.sha256 for item in arrived]
        claimed = {sha for sha, ok in self.conn.execute(query("claim_files"), {"sha256": shas})
                   if ok}
        arrived = [item for item in arrived if item.parsed.sha256 in claimed]
        self.run.received(arrived, replay=bool(self.replayed))
        known = {r[0] for r in self.conn.execute(query("known_submissions"), {"sha256": shas})}
        fresh: list[Received] = []
        for item in arrived:
            if item.parsed.sha256 in known:
                self.drop_duplicate(item)
            else:
                known.add(item.parsed.sha256)  # a second copy in the same run is a duplicate
                fresh.append(item)
        return fresh

    def release(self) -> None:
        """Let go of the files `claim` took (also when the claim itself failed part-way: a full
        lock table keeps the locks taken before it)."""
        if not self.conn.closed and not self.conn.broken:
            self.conn.execute(query("release_files"))

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
            self.run.summary.skipped.append(key)
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
        name, province = self.run.names(path)
        reason = f"cannot be removed from the inbox ({exc.strerror}); later runs skip it"
        key = portable_path(str(path))
        self.conn.execute(query("record_unremovable"), {
            "path": key, "sha256": sha, "size_bytes": seen.size, "mtime_ns": seen.mtime_ns,
            "inode": seen.inode, "device": seen.device, "source_file": name,
            "province_code": province, "reason": reason, "run_id": self.run.run_id})
        self.unremovable[key] = seen
        self.run.log(sha, path, "kept", reason)
        log.warning("%s/%s: %s", province, name, reason)
        return reason

    def refuse(self, path: Path, why: str) -> None:
        """A symbolic link, folder or special file: logged, never read, moved or deleted."""
        message = f"refused, not read: {why}"
        self.run.log(None, path, "refused", message)
        self.run.answer(path, "refused", message)

    def _too_deep(self, path: Path) -> bool:
        root = self.run.root(path)
        return root is not None and len(path.relative_to(root).parts) >= MAX_DEPTH

    def set_aside_folder(self, path: Path) -> None:
        """A folder nested too deep to walk: moved (not read) into the quarantine, with a
        report, so it neither blocks the inbox nor comes back on every run."""
        name, province = self.run.names(path)
        finding = file_error(
            "too_deep",
            f"Thư mục lồng quá sâu (hơn {MAX_DEPTH} cấp) nên không được đọc; đã chuyển ra khỏi "
            "hộp thư. Hãy đặt tệp báo cáo ngay trong thư mục của tỉnh.",
            f"Folders nested deeper than {MAX_DEPTH} levels are not read; this one was moved "
            "out of the inbox. Put report files directly in the province's folder.")
        parsed = ParsedFile(path, name, province, "", 0, findings=[finding])
        folder = archive.safe_folder(self.home.quarantine / folder_name(province))
        target = archive.free_name(folder, path.name)
        try:
            os.rename(path, target)
        except OSError as exc:
            self.refuse(path, f"folder nested deeper than {MAX_DEPTH} levels ({exc.strerror})")
            return
        report_path = errors_report(target, self.render(parsed))
        self.run.log(None, path, "rejected", finding.message_en)
        self.run.answer(path, "rejected", finding.message_en, errors=1,
                        report=portable_path(str(report_path)))

    def defer_fragments(self, items: list[Received]) -> list[Received]:
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
            self.run.manifest(young, deferred=True)
        return [item for item in items if item not in young]

    def defer(self, path: Path, why: str) -> None:
        self.run.log(None, path, "deferred", why)
        self.run.answer(path, "deferred", why)

    # ------------------------------------------------------------ files that are never parsed

    def reject_unread(self, path: Path, seen: Seen, finding: Finding,
                      event_message: str | None = None) -> None:
        """Quarantine a file without reading it (too large, or set aside after failures)."""
        name, province = self.run.names(path)
        parsed = ParsedFile(path, name, province, "", seen.size, findings=[finding])
        kept = None
        try:
            moved = archive.move_out(path, self.run.root(path), seen,
                                     self.home.quarantine / folder_name(province))
        except FileNotFoundError:
            return
        except archive.LinkRefused as exc:
            message = display_name(f"cannot be set aside: {exc}")[:500]
            self.run.log(None, path, "failed", message)
            self.run.answer(path, "failed", message)
            return
        except archive.Unremovable as exc:
            moved = getattr(exc, "target", None)
            if moved is None:
                # not even a copy could be made (the inbox refuses the rename and the copy):
                # answered as rejected with its report in the quarantine, the file stays
                moved = archive.free_name(archive.safe_folder(
                    self.home.quarantine / folder_name(province)), path.name)
            kept = self._keep_unremovable(path, seen, None, exc)
        if moved is None:
            self.defer(path, "changed while being set aside; left for the next run")
            return
        report_path = errors_report(moved, self.render(parsed))
        message = event_message or finding.message_en
        self.run.log(None, path, "rejected", message)
        self.run.answer(path, "rejected", message, errors=1,
                        report=portable_path(str(report_path)), kept_in_inbox=kept)

    def fail_unread(self, path: Path, seen: Seen, message: str) -> None:
        """The system could not read the file: it stays for the next run, unless it failed the
        same way too often (then it is set aside with a report)."""
        name, province = self.run.names(path)
        if poison.set_aside(self.run.failures(None, name, province, message)):
            self.reject_unread(path, seen, poison.poisoned(message), f"set aside: {message}")
            return
        self.run.log(None, path, "failed", message)
        self.run.answer(path, "failed", message)

    # ------------------------------------------------------------ after reading

    def drop_duplicate(self, item: Received) -> None:
        parsed = item.parsed
        self.run.log_file(parsed, "duplicate", "same bytes already received; nothing changed")
        kept = self.clear(item)
        self.run.finish(FileResult(portable_path(str(item.path)), parsed.source_file,
                                   parsed.folder_province,
                                   "duplicate", sha256=parsed.sha256,
                                   message="đã nhận trước đó / already received",
                                   kept_in_inbox=kept))

    def clear(self, item: Received) -> str | None:
        """Remove the inbox file if it still holds the archived bytes; else keep it (a writer
        came back: the next run takes the new content) and say so in the log. A file the inbox
        does not let go is recorded as processed (returns why), so later runs skip it."""
        try:
            removed = archive.remove_if_unchanged(item.path, self.run.root(item.path),
                                                  item.seen, item.parsed.sha256)
        except archive.Unremovable as exc:
            return self._keep_unremovable(item.path, item.seen, item.parsed.sha256, exc)
        if not removed and item.path.exists():
            self.run.log_file(item.parsed, "kept",
                              "changed after it was read: left in the inbox for the next run")
        return None


def _kind_of(path: Path, st: os.stat_result, root: Path | None) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "symbolic link (links are never followed)"
    if stat.S_ISDIR(st.st_mode):
        return "a folder that cannot be read" if root else "a folder"
    return "not a regular file (device, pipe or socket)"


def _too_large(size: int) -> Finding:
    exc = file_too_large(size)  # the reader's own message for the same limit
    return file_error(exc.rule, exc.message_vi, exc.message_en)
