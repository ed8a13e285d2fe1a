"""The data home (contract §6) and the few settings the environment may override."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@cache
def project_vars() -> dict:
    """The vars of dbt_project.yml: the facts the marts and the Python side share (time zone,
    merger date, code labels) are written there once and read by both."""
    import yaml

    path = PROJECT_ROOT / "dbt_project" / "dbt_project.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["vars"]


# the clerks' clock: due dates and "today" (contract §7)
LOCAL_TIME_ZONE: str = project_vars()["local_time_zone"]
LOCAL_TIME = ZoneInfo(LOCAL_TIME_ZONE)


@dataclass(frozen=True)
class Home:
    """Everything the warehouse keeps on disk lives under one folder."""

    root: Path
    inbox: Path
    outbox: Path

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def reports(self) -> Path:
        """Validation reports for accepted files (warnings) and the HTML docs."""
        return self.root / "reports"

    @property
    def site(self) -> Path:
        """The pages people look at (contract §8)."""
        return self.root / "site"

    @property
    def dbt_profiles(self) -> Path:
        return self.root / "dbt"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    def ensure(self) -> Home:
        for folder in (self.root, self.inbox, self.outbox, self.archive, self.quarantine,
                       self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def home() -> Home:
    """Read the data home from the environment at call time, never at import time."""
    root = Path(os.environ.get("LHPN_HOME") or PROJECT_ROOT / ".lhpn").expanduser().resolve()
    inbox = os.environ.get("LHPN_INBOX")
    outbox = os.environ.get("LHPN_OUTBOX")
    return Home(root=root,
                inbox=Path(inbox).expanduser().resolve() if inbox else root / "inbox",
                outbox=Path(outbox).expanduser().resolve() if outbox else root / "outbox")


def dbt_project_dir() -> Path:
    return Path(os.environ.get("LHPN_DBT_PROJECT") or PROJECT_ROOT / "dbt_project")


def seeds_dir() -> Path:
    return dbt_project_dir() / "seeds"


def expectations_dir() -> Path:
    return Path(os.environ.get("LHPN_EXPECTATIONS") or PROJECT_ROOT / "expectations")


def _number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def settle_seconds() -> float:
    """A file is taken once its size and mtime have not changed for this long (contract §7)."""
    return _number("LHPN_SETTLE_SECONDS", 5)


def settle_wait_seconds() -> float:
    """How long `lhpn run` waits for young files to settle before leaving them for later."""
    return _number("LHPN_SETTLE_WAIT_SECONDS", 60)


_MB = 1024 * 1024


def max_file_bytes() -> int:
    """Larger files are rejected, checked by `stat` before a byte is read."""
    return int(_number("LHPN_MAX_FILE_MB", 20) * _MB)


def max_unzipped_bytes() -> int:
    """An .xlsx / .ods whose zip entries unpack to more than this is rejected before parsing."""
    return int(_number("LHPN_MAX_UNZIPPED_MB", 200) * _MB)


def max_zip_ratio() -> float:
    """Unpacked size ÷ file size above this (for contents over 1 MB) marks a zip bomb."""
    return _number("LHPN_MAX_ZIP_RATIO", 100)


def max_cells() -> int:
    """Cells a workbook may span over all its sheets (rows × columns of each used range)."""
    return int(_number("LHPN_MAX_CELLS", 2_000_000))


def max_cell_chars() -> int:
    """Characters in one cell (Excel's own limit is 32,767)."""
    return int(_number("LHPN_MAX_CELL_CHARS", 32_767))


def parse_memory_bytes() -> int:
    """Memory a worker process may add while parsing one file (address space, RLIMIT_AS)."""
    return int(_number("LHPN_PARSE_MEMORY_MB", 1024) * _MB)


def parse_seconds() -> float:
    """CPU seconds one file may take to parse (its worker is stopped after that)."""
    return _number("LHPN_PARSE_SECONDS", 120)


def fragment_seconds() -> float:
    """A file that looks cut short (a CSV whose last line stops mid-row, a zip without its end
    record) is left for a later run while it is younger than this; then it is rejected."""
    return _number("LHPN_FRAGMENT_SECONDS", 3600)


def poison_failures() -> int:
    """A file whose processing failed this many times the same way is set aside (quarantined
    with a report) instead of blocking the inbox."""
    return int(_number("LHPN_POISON_FAILURES", 3))


def workers() -> int:
    """Processes for parsing large runs (LHPN_WORKERS, default: the machine's cores)."""
    return max(1, int(os.environ.get("LHPN_WORKERS") or os.cpu_count() or 1))


def _seconds_text(name: str, default: float) -> str:
    """A duration setting in seconds, as PostgreSQL takes it ('30s'); 0 means no limit."""
    seconds = _number(name, default)
    if seconds < 0:
        raise ValueError(f"{name} must be a number of seconds (0 = no limit), not {seconds}")
    return f"{int(seconds * 1000)}ms"


def bi_statement_timeout() -> str:
    """Longest a BI query may run before the server cancels it (contract §6)."""
    return _seconds_text("LHPN_BI_STATEMENT_TIMEOUT", 300)


def bi_idle_in_transaction_timeout() -> str:
    """Longest a BI session may sit idle inside an open transaction before the server ends it:
    the bound on how long a reader can hold a lock a marts build waits for (contract §6)."""
    return _seconds_text("LHPN_BI_IDLE_IN_TRANSACTION_TIMEOUT", 60)


def build_lock_timeout() -> str:
    """How long one statement of a marts build waits for a lock (a reader's) before failing;
    the build then retries the failed models (`build_lock_retries`)."""
    return _seconds_text("LHPN_BUILD_LOCK_TIMEOUT", 10)


def build_lock_retries() -> int:
    """How many times a build retries the models that failed on a lock timeout or a deadlock."""
    return int(_number("LHPN_BUILD_LOCK_RETRIES", 8))


def build_retry_pause() -> float:
    """Seconds between such retries."""
    return _number("LHPN_BUILD_RETRY_PAUSE", 10)


def chunk_files(default: int) -> int:
    """Files a run receives, locks and holds in memory at a time (LHPN_CHUNK_FILES): each file
    of a chunk holds one lock in the server's shared lock table until the chunk ends."""
    return max(1, int(_number("LHPN_CHUNK_FILES", default)))


def site_url() -> str | None:
    """Where the pages are served (LHPN_SITE_URL, contract §6), without a trailing slash; None
    when they are not: receipts then link the copy of the province page in the outbox."""
    url = (os.environ.get("LHPN_SITE_URL") or "").strip().rstrip("/")
    return url or None


def today() -> date:
    """Today's date for everything the calendar decides (contract §6, §7): LHPN_TODAY
    (YYYY-MM-DD) when it is set, so tests and rehearsals can move it; else the date in Vietnam.
    Validation ("a period after today"), the dbt build (var `today`), status, reminders and the
    sample reports all take it from here."""
    value = (os.environ.get("LHPN_TODAY") or "").strip()
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"LHPN_TODAY must be a date YYYY-MM-DD, not {value!r}") from exc
    return datetime.now(LOCAL_TIME).date()


def backfill() -> bool:
    """LHPN_BACKFILL=1 (or `lhpn run --backfill`): the run imports history on purpose, so its
    files get on_time NULL in the marts, never a false late (contract §7)."""
    return (os.environ.get("LHPN_BACKFILL") or "").strip().lower() in {"1", "true", "yes", "on"}
