"""Build the marts: `dbt build` (seeds, models, tests) run in-process through dbtRunner.

profiles.yml is generated from the warehouse URL into the data home, and dbt's target/ and
logs/ live there too, so two data homes (two test sessions, two operators) never share state.
Partial parsing keeps the start-up short after the first call.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import yaml
from psycopg.conninfo import conninfo_to_dict

from ingest import warehouse
from ingest.settings import dbt_project_dir, home

PROFILE = "lhpn"
TARGET = "warehouse"
DEFAULT_SCHEMA = "marts"
THREADS = 4
FAILED_STATUSES = {"error", "fail", "runtime error"}

# dbt keeps global state per process: one invocation at a time.
_lock = threading.Lock()


class MartsError(RuntimeError):
    """dbt could not build the marts; the message names the failed nodes."""


def _dbt_home() -> Path:
    return home().dbt_profiles


def _target_path() -> Path:
    return _dbt_home() / "target"


def _log_path() -> Path:
    return _dbt_home() / "logs"


def profile_for(url: str) -> dict:
    """The dbt profile for a libpq URL (a unix-socket host is a directory, which dbt accepts)."""
    info = conninfo_to_dict(url)
    output = {
        "type": "postgres",
        "host": info.get("host") or "localhost",
        "port": int(info.get("port") or 5432),
        "user": info.get("user") or "postgres",
        "password": info.get("password") or "",
        "dbname": info.get("dbname") or warehouse.WAREHOUSE_DB,
        "schema": DEFAULT_SCHEMA,
        "threads": THREADS,
    }
    if info.get("sslmode"):
        output["sslmode"] = info["sslmode"]
    return {PROFILE: {"target": TARGET, "outputs": {TARGET: output}}}


def write_profiles(url: str) -> Path:
    """Write profiles.yml into the data home (only when it changes); return its folder."""
    folder = _dbt_home()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "profiles.yml"
    text = yaml.safe_dump(profile_for(url), sort_keys=False, allow_unicode=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)  # may hold a password
    return folder


def _invoke(command: list[str], *, verbose: bool):
    """Run one dbt command in this process with the project's paths; return dbtRunnerResult."""
    from dbt.cli.main import dbtRunner

    profiles_dir = write_profiles(warehouse.warehouse_url())  # migrations applied first
    args = [
        *command,
        "--project-dir", str(dbt_project_dir()),
        "--profiles-dir", str(profiles_dir),
        "--target-path", str(_target_path()),
        "--log-path", str(_log_path()),
        "--partial-parse",
        "--no-version-check",
        "--no-send-anonymous-usage-stats",
        "--no-use-colors",
        "--log-level", "info" if verbose else "none",
        "--log-level-file", "info",
    ]
    with _lock:
        return dbtRunner().invoke(args)


def _failures(result) -> list[str]:
    lines = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(node_result.status).lower()
        if status in FAILED_STATUSES:
            message = " ".join((node_result.message or "no message").split())
            lines.append(f"{node_result.node.unique_id} ({status}): {message[:600]}")
    return lines


def _raise_on_failure(result, what: str) -> None:
    if result.success:
        return
    failures = _failures(result)
    if failures:
        raise MartsError(f"{what} failed at {len(failures)} node(s): " + "; ".join(failures)
                         + f". Details in {_log_path() / 'dbt.log'}.")
    raise MartsError(f"{what} failed: {result.exception or 'unknown error'}. "
                     f"Details in {_log_path() / 'dbt.log'}.")


def build_marts(select: str | None = None, full_refresh: bool = False, *,
                verbose: bool = False) -> dict:
    """Run `dbt build` (seeds, models, data and unit tests) and return what it did.

    `select` is a dbt selection (e.g. "marts.emulation_ranking+"); `verbose` lets dbt print
    its own log lines. Raises MartsError naming the failed nodes when anything fails.
    """
    command = ["build"]
    if select:
        command += ["--select", select]
    if full_refresh:
        command.append("--full-refresh")
    started = time.perf_counter()
    result = _invoke(command, verbose=verbose)
    seconds = round(time.perf_counter() - started, 2)
    _raise_on_failure(result, "dbt build")
    results = getattr(result.result, "results", None) or []
    by_type = Counter(r.node.resource_type.value if hasattr(r.node.resource_type, "value")
                      else str(r.node.resource_type) for r in results)
    by_status = Counter(str(r.status).lower() for r in results)
    return {
        "seconds": seconds,
        "nodes": len(results),
        "by_type": dict(by_type),
        "by_status": dict(by_status),
        "dbt_seconds": round(sum(r.execution_time or 0 for r in results), 2),
        "target_path": str(_target_path()),
    }


def docs_generate(*, verbose: bool = False) -> Path:
    """Generate dbt's documentation site as one static page in the reports folder; return it."""
    result = _invoke(["docs", "generate", "--static"], verbose=verbose)
    _raise_on_failure(result, "dbt docs generate")
    docs_dir = home().reports / "dbt-docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    page = docs_dir / "index.html"
    shutil.copyfile(_target_path() / "static_index.html", page)
    return page
