"""Taking a file out of the inbox, and every write the pipeline makes for it.

Containment: an inbox file is opened through its folders one at a time with `O_NOFOLLOW`, so a
symbolic link swapped in anywhere on the way is refused by the kernel, not followed; the file is
removed from the inbox only while it still holds the bytes that were archived (a writer that came
back keeps its file). Everything written goes below the data home's own folders (archive,
quarantine, reports, outbox, site), atomically (a temporary name, then `os.replace`; a name not
taken yet: an unnamed file linked in once whole), and never through a symbolic link.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingest.receive.inbox import parts_below
from ingest.receive.names import sidecar_name
from ingest.receive.settle import Seen, writers_of

_CHUNK = 1 << 20


class NotAFile(Exception):
    """The path is a symbolic link, a folder or a special file: refused, never read."""


class Changed(Exception):
    """The file changed while it was read: left for a later run."""


class Unremovable(OSError):
    """The file was processed but the inbox does not let it be removed (a read-only share,
    an immutable file, no write permission on its folder)."""


# errors of unlink / rename that no retry will cure: the inbox is not ours to change
UNREMOVABLE_ERRNOS = (errno.EROFS, errno.EPERM, errno.EACCES, errno.EBUSY, errno.ETXTBSY)


def _unremovable(exc: OSError) -> Unremovable | None:
    if exc.errno in UNREMOVABLE_ERRNOS:
        return Unremovable(exc.errno, exc.strerror or str(exc))
    return None


class TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(f"{size} bytes")
        self.size = size


def _open_dir(base: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of `base/parts...`, refusing a symbolic link at every step after `base`."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _split(path: Path, root: Path | None) -> tuple[Path, tuple[str, ...], str]:
    rel = parts_below(path, root) if root is not None else None
    if rel:
        return root, rel[:-1], rel[-1]
    return path.parent, (), path.name


@dataclass
class Taken:
    data: bytes
    seen: Seen  # the file as it was read


def read_settled(path: Path, root: Path | None, seen: Seen, limit: int) -> Taken:
    """The bytes of a settled inbox file, read once. Raises `NotAFile`, `TooLarge` (checked with
    `fstat` before reading anything) or `Changed` (it is not the file that settled, or it changed
    while being read)."""
    base, folders, name = _split(path, root)
    try:
        dir_fd = _open_dir(base, folders)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a folder on the way is a link
            raise NotAFile("a folder on its path is a symbolic link") from exc
        raise
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotAFile("symbolic link") from exc
            raise
    finally:
        os.close(dir_fd)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise NotAFile("not a regular file")
        if before.st_nlink > 1:  # may be a file of someone else's, linked into the inbox
            raise NotAFile(f"a file with {before.st_nlink} hard links (links are never read)")
        if Seen.of(before) != seen:
            raise Changed("changed since it settled")
        if before.st_size > limit:
            raise TooLarge(before.st_size)
        data = _read_size(fd, before.st_size)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if len(data) != before.st_size or Seen.of(after) != seen:
        raise Changed("changed while it was read")
    return Taken(data, seen)


def _read_size(fd: int, size: int) -> bytes:
    """The file's bytes, read until its end or one byte past `size` (its size by `fstat`),
    whichever comes first: a file that grew meanwhile shows it by its length. A buffer of the
    size the file has, not of the limit (a read of `limit + 1` bytes maps and unmaps 20 MB per
    file)."""
    parts: list[bytes] = []
    got = 0
    while got <= size and (more := os.read(fd, size + 1 - got)):
        parts.append(more)
        got += len(more)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def remove_if_unchanged(path: Path, root: Path | None, seen: Seen, sha256: str) -> bool:
    """Remove the inbox file if it is still the file that was read, holding the same bytes, and
    no local program has it open for writing. False when it was kept (or is gone); raises
    `Unremovable` when the inbox refuses the removal."""
    base, folders, name = _split(path, root)
    try:
        dir_fd = _open_dir(base, folders)
    except OSError:
        return False
    try:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if Seen.of(st) != seen:
            return False
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        try:
            # no local program holds it open for writing (the lease test on this descriptor)
            if writers_of(fd) is True:
                return False
            data = _read_size(fd, seen.size)
        finally:
            os.close(fd)
        if hashlib.sha256(data).hexdigest() != sha256:
            return False
        try:
            os.unlink(name, dir_fd=dir_fd)
        except OSError as exc:
            raise _unremovable(exc) or exc from exc
        return True
    finally:
        os.close(dir_fd)


def move_out(path: Path, root: Path | None, seen: Seen, target_dir: Path) -> Path | None:
    """Move an inbox file (one too large to read) into `target_dir` without reading it: a rename,
    or on another file system a streamed copy. None when it changed or is gone. Raises
    `Unremovable` (with `.target`, the copy) when the copy was made but the inbox keeps the
    file."""
    base, folders, name = _split(path, root)
    dir_fd = _open_dir(base, folders)
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if Seen.of(st) != seen:
            return None
        target = free_name(safe_folder(target_dir), name)
        out_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.rename(name, target.name, src_dir_fd=dir_fd, dst_dir_fd=out_fd)
            return target
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, *UNREMOVABLE_ERRNOS):  # copy instead
                raise
        finally:
            os.close(out_fd)
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as source:
            _write_atomic(target, lambda out: shutil.copyfileobj(source, out, _CHUNK))
        if Seen.of(os.stat(name, dir_fd=dir_fd, follow_symlinks=False)) == seen:
            try:
                os.unlink(name, dir_fd=dir_fd)
            except OSError as exc:
                if unremovable := _unremovable(exc):
                    unremovable.target = target  # the copy is in place: only the removal failed
                    raise unremovable from exc
                raise
        return target
    finally:
        os.close(dir_fd)


# ---------------------------------------------------------------- writing in the data home

def safe_folder(folder: Path) -> Path:
    """Create `folder` (below a data-home folder), opening each folder below it without
    following links; raises `LinkRefused` when one is a symbolic link."""
    root = _write_root(folder / "_")
    os.close(_open_folders(root, Path(os.path.abspath(folder)).relative_to(root).parts))
    return folder


def free_name(folder: Path, name: str, tag: str | None = None) -> Path:
    """`folder/name`, or a name beside it that is not taken yet (and fits the file system)."""
    target = folder / sidecar_name(name, "")
    if not os.path.lexists(target):
        return target
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    extra = f".{tag or uuid.uuid4().hex[:8]}" + (f".{suffix}" if suffix else "")
    return folder / sidecar_name(stem, extra)


class LinkRefused(OSError):
    """A folder on the way to a file the warehouse writes is a symbolic link (or not a folder):
    nothing is written through it."""


def _write_root(target: Path) -> Path:
    """The data-home folder `target` lies in (outbox, quarantine, reports, site, archive): the
    folders below it are checked one by one. Another path is checked from its own folder."""
    from ingest import settings

    data_home = settings.home()
    absolute = Path(os.path.abspath(target))
    for root in (data_home.outbox, data_home.quarantine, data_home.reports, data_home.site,
                 data_home.archive, data_home.root):
        root = Path(os.path.abspath(root))
        if absolute.is_relative_to(root) and absolute != root:
            return root
    return absolute.parent


def _open_folders(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of `root/parts...`, creating missing folders, refusing a symbolic link (or
    anything not a folder) at every step below `root` (O_NOFOLLOW: the kernel refuses it)."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:  # the data-home folder itself, made on first use
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise LinkRefused(exc.errno, "refusing to write through a symbolic link "
                              f"(or a file where a folder belongs): {root.joinpath(*parts)}"
                              ) from exc
        raise
    return fd


def _write_atomic(target: Path, write, *, unless_same: bytes | None = None,
                  root: Path | None = None) -> bool:
    """Write `target` atomically (a temporary name, then a rename; with `unless_same` and no
    file by that name yet, an unnamed file linked in once whole), opening every folder below
    the data-home folder it lies in (or `root`, a folder above it the caller knows) without
    following links; never writes through a symbolic link (a link planted at the name itself
    is replaced, not followed). With `unless_same`, a file already holding exactly those bytes
    is left alone. True when written."""
    dir_fd, name = _open_parent(target, root)
    try:
        return _write_at(dir_fd, name, write, unless_same=unless_same)
    finally:
        os.close(dir_fd)


def _open_parent(target: Path, root: Path | None = None) -> tuple[int, str]:
    """A descriptor of the folder `target` goes in (created, opened without following links
    below its data-home folder, or below `root`) and its name there."""
    absolute = os.path.abspath(target)
    if root is not None:
        base = Path(os.path.abspath(root))
        rel = parts_below(Path(absolute), base)
        if rel:
            return _open_folders(base, rel[:-1]), rel[-1]
    root = _write_root(target)  # not below it after all: the data home decides
    parts = Path(absolute).relative_to(root).parts
    return _open_folders(root, parts[:-1]), parts[-1]


def _write_at(dir_fd: int, name: str, write, *, unless_same: bytes | None = None) -> bool:
    """`_write_atomic` in the folder `dir_fd` (already opened without following links).
    `write`: a function given the temporary file open for writing, or the bytes themselves
    (written with plain system calls, no file object)."""
    if unless_same is not None:
        held = _holds(dir_fd, name, unless_same)
        if held:
            return False
        if held is None and not callable(write) and _link_whole(dir_fd, name, write):
            return True  # a new name: the file linked in once whole, nothing to rename
    tmp = f".{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                 dir_fd=dir_fd)
    try:
        if callable(write):
            with os.fdopen(fd, "wb") as out:
                write(out)
        else:
            try:
                _write_all(fd, write)
            finally:
                os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    return True


def _holds(dir_fd: int, name: str, data: bytes) -> bool | None:
    """Whether `name` in the folder `dir_fd` is a regular file (not followed if a link) holding
    exactly `data`; None when there is nothing by that name."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        return _read_size(fd, len(data)) == data  # (a file that grew meanwhile differs)
    finally:
        os.close(fd)


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    _write_atomic(target, data)
    return target


def write_if_changed(target: Path, data: bytes | str, *, root: Path | None = None) -> bool:
    """`write_bytes_atomic` unless the file already holds exactly `data` (text: as UTF-8); True
    when written. Receipts, notices and pages are written through it. `root`: the data-home
    folder the target lies in, when the caller (writing many) knows it; the folders below it
    are checked as always."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _write_atomic(target, data, unless_same=data, root=root)


class _OpenedFolders:
    """Folders below `root`, each opened once, on its first file (below `root` without
    following links, created if missing: `_open_folders`), rather than again for every file; a
    context manager that closes them at the end. A link swapped in later is not followed
    either: the folder opened is the one written to."""

    def __init__(self, root: Path):
        self.root = Path(os.path.abspath(root))
        self._fds: dict[tuple[str, ...], int] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)

    def folder(self, parts: tuple[str, ...]) -> int:
        """The descriptor of `root/parts` (a folder that cannot be opened is tried again by
        its next file)."""
        fd = self._fds.get(parts)
        if fd is None:
            fd = self._fds[parts] = _open_folders(self.root, parts)
        return fd


class FolderWriter(_OpenedFolders):
    """`write_if_changed` for many files below one data-home folder (`root`, e.g. the outbox):
    the same checks and the same atomic write for each file, each folder opened once. A target
    not below `root` is written by `write_if_changed` (the data home decides)."""

    def write_if_changed(self, target: Path, data: bytes | str) -> bool:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not target.is_absolute() or ".." in target.parts:  # (a path's "." parts are gone)
            target = Path(os.path.abspath(target))
        rel = parts_below(target, self.root)
        if not rel:
            return write_if_changed(target, data)
        return _write_at(self.folder(rel[:-1]), rel[-1], data, unless_same=data)


def write_text_atomic(target: Path, text: str) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"))


def archive_bytes(archive: Path, sha256: str, suffix: str, data: bytes) -> Path:
    """Content-addressed copy, written atomically; the same bytes are stored once."""
    with ArchiveFolders(archive) as folders:
        return archive / folders.store(sha256, suffix, data)


class ArchiveFolders(_OpenedFolders):
    """The archive's folders (`<archive>/<first two hex digits>`) for the files of one receive,
    each opened once. `store` is `archive_bytes` without opening two folders again for every
    file."""

    def store(self, sha256: str, suffix: str, data: bytes) -> str:
        """Archive `data` (content-addressed, written atomically, the same bytes stored once);
        returns its path below the archive (`<folder>/<sha256><suffix>`)."""
        folder, name = sha256[:2], f"{sha256}{_archive_suffix(suffix)}"
        # its path below the archive is known (a hex prefix), not worked out from a target's
        dir_fd = self.folder((folder,))
        try:
            os.stat(name, dir_fd=dir_fd)
        except OSError as exc:  # what `Path.exists` takes for "not there"
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
                raise
            if not _link_whole(dir_fd, name, data):
                _write_at(dir_fd, name, data)
        return f"{folder}/{name}"


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to the descriptor (`os.write` may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _link_whole(dir_fd: int, name: str, data: bytes) -> bool:
    """Write `data` as `name` in the folder `dir_fd` atomically, as `_write_at` does but without
    a temporary name to rename: an unnamed file (O_TMPFILE), linked under `name` once whole (a
    crash part-way leaves nothing behind). False when it was not written: no O_TMPFILE on this
    system or file system, no /proc, or `name` taken meanwhile (then `_write_at` writes it, and
    replaces what is there, as always)."""
    try:
        fd = os.open(".", os.O_WRONLY | os.O_TMPFILE, 0o644, dir_fd=dir_fd)
    except (AttributeError, OSError):
        return False
    try:
        _write_all(fd, data)
        # linkat of the descriptor's /proc entry: the unnamed file gets its name
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _archive_suffix(suffix: str) -> str:
    """The extension as the archive names it: lower case, and only if it is a plain one."""
    suffix = suffix.lower()
    return suffix if suffix[1:].isascii() and suffix[1:].isalnum() and len(suffix) <= 16 else ""


# ---------------------------------------------------------------- the order of receipt

MANIFEST = "ingest-log.jsonl"


def append_manifest(archive: Path, entries: list[dict]) -> None:
    """Append to `archive/ingest-log.jsonl` one line per file received, in order: with the
    archive it is enough to rebuild the warehouse (`lhpn rebuild`). One write per run chunk,
    appended (O_APPEND), never through a link."""
    if not entries:
        return
    import json

    data = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode("utf-8")
    dir_fd = _open_folders(Path(os.path.abspath(archive)), ())
    try:
        fd = os.open(MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644,
                     dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def read_manifest(archive: Path) -> list[dict]:
    import json

    try:
        lines = (archive / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]
