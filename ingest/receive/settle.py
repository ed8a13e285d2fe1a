"""Settled files (contract §7): a file is taken once its size and modification time have not
changed for the settle window. One implementation for `lhpn run` (which waits, bounded, for young
files) and for Airflow's inbox watcher (which only asks which files are ready now).

A file's age alone proves it settled when its mtime lies in the past by the window: every write
moves the mtime to now. A young file, or one whose mtime lies in the future (a clock or a copy tool
that keeps times), is watched instead: it settles once it was seen unchanged for the window. On
Linux a file that another local process still holds open for writing is not settled either,
however long the writer pauses (a read lease cannot be taken on such a file).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
CLOCK_SKEW_SECONDS = 2.0  # an mtime this far in the future is the writer's clock, not ours
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Seen:
    """What the settle rule compares: one `lstat` of a file."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, st: os.stat_result) -> Seen:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)

    @property
    def mtime(self) -> float:
        return self.mtime_ns / 1e9


def settled_by_age(st: os.stat_result, settle: float, now: float | None = None) -> bool:
    """Untouched for `settle` seconds by its mtime (a future mtime proves nothing)."""
    age = (time.time() if now is None else now) - st.st_mtime
    return age >= settle and age >= -CLOCK_SKEW_SECONDS


def ready_now(st: os.stat_result, settle: float, now: float | None = None) -> bool:
    """For the watcher: worth an ingest run now. A file with a future mtime is announced too:
    the run watches it for the window instead of trusting its clock."""
    age = (time.time() if now is None else now) - st.st_mtime
    return age >= settle or age < -CLOCK_SKEW_SECONDS


def open_for_writing(path: str) -> bool:
    """Does a local process hold `path` open for writing? (False when it cannot be told: not
    Linux, another owner, a network file system.)"""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EBUSY)
    else:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


@dataclass
class Waited:
    ready: dict[str, Seen]  # path -> what was seen when it settled
    changing: dict[str, str]  # path -> why it is left for a later run
    gone: list[str]  # left the inbox meanwhile (taken by a concurrent run)


def wait_until_settled(paths: list[str], settle: float, max_wait: float, *,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> Waited:
    """Wait (at most `max_wait` seconds) until every file of `paths` has settled."""
    out = Waited({}, {}, [])
    watched: dict[str, tuple[Seen, float]] = {}  # path -> (last seen, since when unchanged)
    start = clock()
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            out.gone.append(path)
            continue
        if settled_by_age(st, settle) and not open_for_writing(path):
            out.ready[path] = Seen.of(st)
        else:
            watched[path] = (Seen.of(st), start)
    while watched:
        now = clock()
        for path, (seen, since) in list(watched.items()):
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                out.gone.append(path)
                del watched[path]
                continue
            current = Seen.of(st)
            if current != seen:
                watched[path] = (current, now)
            elif (now - since >= settle or settled_by_age(st, settle)) and not open_for_writing(
                    path):
                out.ready[path] = current
                del watched[path]
        if not watched:
            break
        if now - start >= max_wait:
            for path, (_seen, since) in watched.items():
                out.changing[path] = (
                    "still open for writing by another program" if open_for_writing(path)
                    else f"still changing (last change {now - since:.0f} s ago)")
            break
        sleep(POLL_SECONDS)
    return out
