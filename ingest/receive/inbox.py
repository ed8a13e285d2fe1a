"""The inbox: which files are waiting, and who sent them. Light on purpose (no pandas, no
database), so Airflow's triggerer can watch the folder cheaply.

The inbox is walked without following symbolic links, one folder at a time (no recursion, so a
folder nested a thousand levels deep costs nothing), and at most `MAX_DEPTH` folders down.
Everything the pipeline must answer for is listed: regular files, and also symbolic links and
special files, which `process_files` refuses with a log entry (never reading, moving or deleting
them), and folders too deep to walk, which it moves unread to the quarantine. Only a writer's
working files (Excel lock files, partial downloads) are left out, and only while they are young.
`sender` says who sent a file (its name and province folder, as text safe to print and store).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from ingest import settings
from ingest.receive.names import display_name, portable_path
from ingest.settings import Home

MAX_DEPTH = 8  # folders below the inbox; `<inbox>/<province>/<file>` needs one
# A writer's working files: Excel / LibreOffice lock files, partial downloads and copies,
# rsync's hidden temporary names. Left alone while a program may still be using them; a
# leftover (older than a day) is taken like any file, so it is answered and leaves the inbox.
WORKING_PREFIXES = ("~$", ".~lock")
WORKING_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".download")
WORKING_GRACE_SECONDS = 24 * 3600
SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".ods", ".csv", ".xlsm")


def is_working_file(name: str) -> bool:
    lower = name.lower()
    if lower.startswith(WORKING_PREFIXES) or lower.endswith(WORKING_SUFFIXES):
        return True
    # rsync and many sync clients write `.<name>.<random>` and rename it when done
    return lower.startswith(".") and not lower.endswith(SPREADSHEET_SUFFIXES)


def walk_inbox(inbox: Path, now: float | None = None) -> list[str]:
    """Paths of everything waiting below `inbox` (see the module's docstring), sorted."""
    now = time.time() if now is None else now
    found: list[str] = []
    folders: list[tuple[str, int]] = [(str(inbox), 0)]
    while folders:
        folder, depth = folders.pop()
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:
            if depth:
                found.append(folder)  # unreadable folder: refused with a log entry
            continue
        for entry in listed:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone since the listing
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 >= MAX_DEPTH:
                    found.append(entry.path)  # too deep: refused, never walked
                else:
                    folders.append((entry.path, depth + 1))
            elif stat.S_ISREG(info.st_mode) and is_working_file(entry.name) and (
                    now - info.st_mtime < WORKING_GRACE_SECONDS):
                continue
            else:
                found.append(entry.path)  # files, and symlinks / special files to refuse
    return sorted(found)


def list_inbox(data_home: Home | None = None) -> list[str]:
    """Everything waiting in the inbox: `<inbox>/<province_code>/<file>` (and strays at the top).

    A path whose bytes are not UTF-8 is given as a `portable_path` (Airflow stores the list as
    JSON); `process_files` takes both forms, `names.local_path` turns it back into the path."""
    data_home = (data_home or settings.home()).ensure()
    return [portable_path(p) for p in walk_inbox(data_home.inbox)]


def parts_below(path: Path, root: Path) -> tuple[str, ...] | None:
    """The parts of `path` below `root` (`path.relative_to(root).parts`), None when it is not
    below it (or is it): compared part by part like `is_relative_to`, without building paths
    (called several times for every file of a run)."""
    parts, base = path.parts, root.parts
    return parts[len(base):] if len(parts) > len(base) and parts[:len(base)] == base else None


def folder_province(path: Path, inbox: Path) -> str:
    """The sender: the first folder under the inbox ('' for a file dropped at the top)."""
    rel = parts_below(path, inbox)
    if rel is None:
        rel = path.relative_to(inbox).parts  # the inbox itself (), or the error it always was
    return rel[0] if len(rel) > 1 else ""


def root_of(path: Path, inbox: Path) -> Path | None:
    """The folder containment starts from: the inbox for inbox files."""
    return inbox if parts_below(path, inbox) else None


def sender(path: Path, inbox: Path) -> tuple[str, str]:
    """(file name, province) as text safe to print and store."""
    root = root_of(path, inbox)
    province = folder_province(path, root) if root else path.parent.name
    return display_name(path.name), display_name(province)
