"""The inbox: which files are waiting, and who sent them. Light on purpose (no pandas, no
database), so Airflow's triggerer can watch the folder cheaply."""

from __future__ import annotations

from pathlib import Path

from ingest import settings
from ingest.settings import Home

IGNORED_PREFIXES = ("~$", ".~lock", ".")  # Excel / LibreOffice lock files, hidden files
IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".errors.txt", ".warnings.txt")


def _ignored(path: Path) -> bool:
    name = path.name
    return name.startswith(IGNORED_PREFIXES) or name.lower().endswith(IGNORED_SUFFIXES)


def list_inbox(data_home: Home | None = None) -> list[str]:
    """Files waiting in the inbox: `<inbox>/<province_code>/<file>` (and strays at the top)."""
    data_home = (data_home or settings.home()).ensure()
    found = []
    for entry in sorted(data_home.inbox.iterdir()):
        if entry.is_file() and not _ignored(entry):
            found.append(str(entry))
        elif entry.is_dir() and not _ignored(entry):
            found.extend(str(p) for p in sorted(entry.rglob("*"))
                         if p.is_file() and not _ignored(p)
                         and not any(part.startswith(".") for part in p.relative_to(entry).parts))
    return found


def folder_province(path: Path, inbox: Path) -> str:
    """The sender: the first folder under the inbox ('' for a file dropped at the top)."""
    rel = path.relative_to(inbox)
    return rel.parts[0] if len(rel.parts) > 1 else ""
