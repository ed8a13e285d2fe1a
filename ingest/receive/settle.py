"""Settled files (contract §7): a file is taken once its size and modification time have not
changed for the settle window. One implementation for `lhpn run` (which waits, bounded, for young
files) and for Airflow's inbox watcher (which only asks which files are ready now).

A file's age alone proves it settled when its mtime lies in the past by the window: every write
moves the mtime to now. A young file, or one whose mtime lies in the future (a clock or a copy tool
that keeps times), is watched instead: it settles once it was seen unchanged for the window. On
Linux a file that another local process still holds open for writing is not settled either,
however long the writer pauses (a read lease cannot be taken on such a file).

The window is shortened to QUICK_SETTLE_SECONDS where that test is exact: a file on a local file
system (LOCAL_FILE_SYSTEMS: every writer is a process of this machine) on which this process can
take the read lease (it owns the file, or has CAP_LEASE), that no process holds open for writing,
and that no write touched for QUICK_SETTLE_SECONDS, has been closed by its writer: a clerk's copy
(`cp`, Explorer through a Samba share served from this machine) is taken about a second after the
copy ends instead of after the whole window. On a network share (NFS, SMB mounted from another
server, FUSE) the writer is another machine's process, invisible here, and the full window
applies, as it does where the lease cannot be taken (another owner) or outside Linux.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
_F_SETSIG = getattr(fcntl, "F_SETSIG", 10)
CLOCK_SKEW_SECONDS = 2.0  # an mtime this far in the future is the writer's clock, not ours
POLL_SECONDS = 0.2
# The settle window where the lease test sees every writer (see the module's docstring).
QUICK_SETTLE_SECONDS = 1.0
# File systems only this machine's processes write to (by the type /proc/self/mountinfo names).
LOCAL_FILE_SYSTEMS = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "bcachefs", "f2fs", "jfs", "reiserfs", "zfs",
    "tmpfs", "ramfs", "overlay", "vfat", "exfat", "ntfs3",
})


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


def writers(path: str) -> bool | None:
    """Does a local process hold `path` open for writing? True, False, or None when it cannot
    be told (not Linux, another owner, a file system without leases)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        return writers_of(fd)
    finally:
        os.close(fd)


def writers_of(fd: int) -> bool | None:
    """`writers` of the file open (read-only) as `fd`."""
    try:
        # a writer opening the file in the microseconds the lease is held breaks it with a
        # signal, SIGIO by default, which would end this process: ask for one that is ignored
        fcntl.fcntl(fd, _F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno in (errno.EAGAIN, errno.EBUSY) else None
    fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
    return False


def open_for_writing(path: str) -> bool:
    """Does a local process hold `path` open for writing? (False when it cannot be told.)"""
    return writers(path) is True


@functools.lru_cache(maxsize=64)
def file_system(device: int) -> str | None:
    """The type of the file system of `device` (a `st_dev`) as /proc/self/mountinfo names it
    (`ext4`, `nfs4`, `cifs`, `fuse.sshfs`); None when it cannot be told (not Linux)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields, _, rest = line.partition(" - ")
                major, _, minor = fields.split()[2].partition(":")
                if os.makedev(int(major), int(minor)) == device:
                    return rest.split()[0]
    except (OSError, ValueError, IndexError):
        pass
    return None


def local_file_system(device: int) -> bool:
    """Is the file system of `device` one only this machine writes to? (False when it cannot be
    told: the full window.)"""
    return file_system(device) in LOCAL_FILE_SYSTEMS


def settle_window(path: str, st: os.stat_result, settle: float) -> float:
    """The settle window of this file: QUICK_SETTLE_SECONDS when no writer can be hidden from
    the lease test and none holds it (a local file system, a lease this process may take),
    else `settle`."""
    if settle <= QUICK_SETTLE_SECONDS or not local_file_system(st.st_dev):
        return settle
    return QUICK_SETTLE_SECONDS if writers(path) is False else settle


@dataclass
class Waited:
    ready: dict[str, Seen]  # path -> what was seen when it settled
    changing: dict[str, str]  # path -> why it is left for a later run
    gone: list[str]  # left the inbox meanwhile (taken by a concurrent run)


def wait_until_settled(paths: list[str], settle: float, max_wait: float, *,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep,
                       looked: dict[str, os.stat_result] | None = None) -> Waited:
    """Wait (at most `max_wait` seconds) until every file of `paths` has settled. `looked`: the
    `lstat` the caller has just taken of (some of) them, the first look at those."""
    out = Waited({}, {}, [])
    watched: dict[str, tuple[Seen, float]] = {}  # path -> (last seen, since when unchanged)
    start = clock()
    looked = looked or {}
    for path in paths:
        st = looked.get(path)
        if st is None:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                out.gone.append(path)
                continue
        window = settle_window(path, st, settle)
        if settled_by_age(st, window) and not open_for_writing(path):
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
                continue
            window = settle_window(path, st, settle)
            if (now - since >= window or settled_by_age(st, window)) and not open_for_writing(
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
