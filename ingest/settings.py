"""The data home (contract §6) and the few settings the environment may override."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


def settle_seconds() -> float:
    """A file modified more recently than this may still be being written: leave it for later."""
    return float(os.environ.get("LHPN_SETTLE_SECONDS", "2"))


def max_file_bytes() -> int:
    return int(os.environ.get("LHPN_MAX_FILE_MB", "20")) * 1024 * 1024


def workers() -> int:
    """Processes for parsing large runs (LHPN_WORKERS, default: the machine's cores)."""
    return max(1, int(os.environ.get("LHPN_WORKERS") or os.cpu_count() or 1))
