"""Build the marts: `dbt build` (seeds, models, tests) run in-process through dbtRunner.

profiles.yml is generated from the warehouse URL into the data home, and dbt's target/ and
logs/ live there too, so two data homes (two test sessions, two operators) never share state.
Partial parsing keeps the start-up short after the first call, and a process that ran a dbt
command reuses its manifest for the next one made from the same project, profile and vars
(`_invoke`). Each of dbt's threads keeps one PostgreSQL connection for all its nodes
(`_keep_connections`), and the marts' comments are written without asking the catalog which
columns exist (macros/persist_docs.sql, macros/row_security.sql: a mart's contract is enforced).

`refresh_marts()` is what `lhpn run` and the `lhpn_warehouse` DAG call after an ingest run: it
builds only what the run made stale (`marts_plan`), read off dbt's own graph: for every raw sheet
table whose accepted submissions of the period kinds its marts read changed (a new file's sheets,
and those of the version it supersedes; dbt var sheet_period_kinds: a review's GiamNgheo rows
reach no mart) the marts downstream of that source (`source:raw.poverty_support+`, tables only)
with their tests, for a table with new rows no mart reads the tests of its staging view, plus the
status feed (the marts that read every received file, rejected ones too:
status, rounds, versions, findings, build_info) whenever a file arrived, and the periods mart when
a file named a new period; everything when
the dbt project changed or the marts are missing; nothing when nothing changed. The marts after
such a build are those a full build gives (tests/test_marts_refresh.py compares them).
Such a build leaves dbt's artifacts to full builds (manifest.json twice, run_results.json,
graph.gpickle: ~3 MB written per command, 0.3-0.4 s of CPU), and leaves out the data tests that
only restate an enforced constraint of their mart (unique_combination on its primary key,
not_null on a not-null column): PostgreSQL refuses such rows while the mart is written, so
those tests cannot fail after it. Full builds run every test and record which ones these are
(`_restated_tests`, in the build stamp).
The calendar moves without files (contract §7): every build passes today's date
(`ingest.settings.today()`) as the dbt var `today`, and marts built on an earlier day make the
plan "full" ("the calendar moved"): the calendar lives in views (int_periods,
int_submission_periods_expected) that every layer reads, and rebuilding a view drops the views
on it, so a new day rebuilds the project once rather than a part of it. `ensure_today()` is what
`lhpn status` and the reminders call first; the `lhpn_warehouse` DAG's time leg just after
midnight does the same.
`model_statuses()` turns a build's node records into one record per model for the DAG's grid.

A BI reader never stalls a build for long, nor a build the readers (contract §6): replacing a
mart table takes an ACCESS EXCLUSIVE lock, which waits for every reader's transaction on it and
makes every later reader queue behind it. So every statement of the build waits for a lock at
most LHPN_BUILD_LOCK_TIMEOUT (PGOPTIONS lock_timeout of dbt's connections); a model that fails
on it (or on a deadlock between dbt's own threads) is built again by `dbt retry`, after
LHPN_BUILD_RETRY_PAUSE, up to LHPN_BUILD_LOCK_RETRIES times (a build that wrote no
run_results.json, the selective one, is run again with the same selection instead: its nodes
that passed are rebuilt too, which is what a mart's readers see anyway). The readers' own limits
(ingest.warehouse: statement and idle-in-transaction timeouts) end any reader's hold well within
those retries.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict

from ingest import settings, warehouse
from ingest.isolated import frozen_heap
from ingest.model import SHEET_KINDS
from ingest.periods import parse_period
from ingest.settings import dbt_project_dir, home

PROFILE = "lhpn"
TARGET = "warehouse"
DEFAULT_SCHEMA = "marts"
SEED_SCHEMA = "reference"
SEEDS_STAMP = "seeds.sha256"
BUILD_STAMP = "build-stamp.json"  # what the last successful build was made from
CONTRACT_MARTS = ("term_indicator_attainment", "term_scorecard", "emulation_ranking",
                  "poverty_support_outcomes", "submission_status", "reporting_rounds")
# The marts that read rejected submissions too (every other mart reads accepted data only):
# what a run of rejections alone makes stale.
REJECTION_MARTS = ("submission_status", "reporting_rounds", "submission_versions",
                   "validation_findings")
# The status feed: those and build_info (when the marts were last built: every build refreshes
# it). `periods` (every period a file named, a rejected one's too) only when a file named a new
# one. Every other mart reads only the raw sheet tables' current rows (FEED_SELECT).
STATUS_SELECT = " ".join((*REJECTION_MARTS, "build_info"))
PERIODS = "periods"
# The raw sheet tables (ingest.model.SHEET_KINDS), each a dbt source whose downstream marts a
# change of its accepted submissions makes stale: of those of the period kinds its marts read
# (dbt var sheet_period_kinds; the rows of the others reach no mart). marts_state.sql
# fingerprints those per table, every accepted submission with rows per table (ROW_FEEDS: the
# tests of the table's staging view test every file's rows), and the set of periods named (the
# feed PERIODS).
RAW_FEEDS = SHEET_KINDS
ROWS = "_rows"
ROW_FEEDS = tuple(feed + ROWS for feed in RAW_FEEDS)
FEEDS = (*RAW_FEEDS, *ROW_FEEDS, PERIODS)
# What a change of one raw table rebuilds, from dbt's graph: the tables downstream of the source,
# the views downstream of the source that read one of those tables (replacing a table drops the
# views on it: int_poverty_support_units on poverty_support_outcomes), and every test downstream
# of the source (those of the staging view on the table included). The other views are left
# alone: they read the raw tables live, and replacing one would drop the views on it.
FEED_SELECT = ("source:raw.{feed}+,config.materialized:table",
               "source:raw.{feed}+,config.materialized:table+,config.materialized:view",
               "source:raw.{feed}+,resource_type:test")
# What new rows of a raw table that reach no mart run: the tests of its staging view (the
# source's children), the view itself left alone.
ROWS_SELECT = "source:raw.{feed}+1,resource_type:test"
THREADS = 4
# dbt writes manifest.json, run_results.json and graph.gpickle on every command unless told not
# to; the selective build leaves them to full builds (see the module docstring)
NO_ARTIFACTS = "--no-write-json"
TEST_TYPES = ("test", "unit_test")
ALL_BUT_SEEDS = ("model", "test", "unit_test", "exposure", "source")
FAILED_STATUSES = {"error", "fail", "runtime error"}

# dbt keeps global state per process: one invocation at a time.
_lock = threading.Lock()


class MartsError(RuntimeError):
    """dbt could not build the marts; the message names the failed nodes.

    `nodes` holds the per-node records of the run (empty when dbt stopped before running).
    """

    def __init__(self, message: str, nodes: list[dict] | None = None):
        super().__init__(message)
        self.nodes = nodes or []


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


def _in_process_locks() -> None:
    """dbt makes its manifest and connection locks from a "spawn" multiprocessing context, which
    gives named semaphores registered with a resource-tracker process; a process that ends
    without collecting them (an Airflow task does) then logs two "leaked semaphore" errors.
    In-process dbt runs its nodes on threads, never on processes, so the locks only ever guard
    threads: a "fork" context makes them unnamed (unlinked at once, nothing to track). Light:
    dbt.mp_context imports multiprocessing only."""
    import multiprocessing

    import dbt.mp_context

    dbt.mp_context._MP_CONTEXT = multiprocessing.get_context("fork")


# before any dbt module that takes a lock factory at import (the manifest class does)
_in_process_locks()


def dbt_vars() -> dict:
    """The vars every dbt command gets: today's date for the calendar (contract §6, §7)."""
    return {"today": settings.today().isoformat()}


def _flag_source() -> str:
    """The module dbt-common names as the source of an adapter's behavior flag that names none:
    the first module on the stack outside `dbt_common.behavior_flags`, read off the frames' own
    module names. dbt-common reads it with `inspect.stack()` (for every flag, given a source or
    not), which loads the source lines of every frame and, for each frame of generated code,
    looks through every loaded module: ~0.15 s a flag, ~1 s of every dbt command here."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name and name != "dbt_common.behavior_flags":
            return name
        frame = frame.f_back
    return "Unknown"


def _quick_behavior_flags() -> None:
    """dbt-common's behavior flags name their source with `_flag_source` (the same answer)."""
    from dbt_common import behavior_flags

    rendered = getattr(behavior_flags, "BehaviorFlagRendered", None)
    if rendered is not None and hasattr(rendered, "_default_source"):
        rendered._default_source = staticmethod(_flag_source)


def _keep_connections() -> None:
    """A dbt thread keeps its PostgreSQL connection from one node to the next. dbt closes a
    node's connection when the node ends and opens another for the next one: PostgreSQL starts a
    backend for each (whose catalog caches start cold), ~40 per one-file build, ~190 per full
    build. Here a node's end rolls back what its connection left open (the transaction of a
    test's query, as dbt's close does) and leaves it open for the thread's next node; dbt still
    closes every connection when the command ends (`cleanup_connections`), and closes a
    connection in any other state (broken, never opened) as before.

    The rollback is psycopg2's, always: dbt ends a model's transaction with a `COMMIT` sent as
    SQL, which psycopg2 does not see, so it still counts itself inside a transaction and would
    not begin the next node's: every statement of that node would then commit on its own (a
    table's swap too, and a BI reader would find the mart missing between its two renames).
    psycopg2's rollback sets its own state back, and the next node begins its transaction as on
    dbt's fresh connection. So that PostgreSQL has a transaction to roll back (and logs no
    "there is no transaction in progress" for every model), a `begin` is sent first when only
    psycopg2 counts itself inside one."""
    from dbt.adapters.postgres.connections import PostgresConnectionManager
    from psycopg2.extensions import (
        STATUS_BEGIN,
        TRANSACTION_STATUS_IDLE,
        TRANSACTION_STATUS_INERROR,
        TRANSACTION_STATUS_INTRANS,
    )

    if getattr(PostgresConnectionManager.release, "keeps_connections", False):
        return
    close_release = PostgresConnectionManager.release
    reusable = (TRANSACTION_STATUS_IDLE, TRANSACTION_STATUS_INTRANS, TRANSACTION_STATUS_INERROR)

    def release(self) -> None:
        conn = self.get_if_exists()
        handle = getattr(conn, "handle", None)
        if conn is not None and conn.state == "open" and getattr(handle, "closed", 1) == 0:
            try:
                status = handle.get_transaction_status()
                if status in reusable:
                    if status == TRANSACTION_STATUS_IDLE and handle.status == STATUS_BEGIN:
                        # the COMMIT dbt sent as SQL: a transaction opened for psycopg2's
                        # rollback to end, so the server logs no "no transaction in progress"
                        with handle.cursor() as cursor:
                            cursor.execute("begin")
                    handle.rollback()
                    conn.transaction_open = False
                    return
            except Exception:  # noqa: BLE001 - closed below, as dbt does
                pass
        close_release(self)

    release.keeps_connections = True
    PostgresConnectionManager.release = release


# The manifest of the last dbt command of this process, by what it was parsed from (`_parse_key`):
# the next command made from the same inputs reuses it instead of parsing again (dbtRunner's
# `manifest`, dbt's way for programmatic calls; ~0.2 s of CPU a command even with partial
# parsing). Commands of a process run one at a time (`_lock`).
_manifest: dict = {}
_parsed: list = []


def _parse_key(url: str) -> str:
    """What a parse is made from here: the project (its folder and files), the profile, the vars.
    dbt would parse again when one of them changes; a manifest of another key is not reused."""
    text = json.dumps([str(dbt_project_dir()), _project_fingerprint(),
                       yaml.safe_dump(profile_for(url)), dbt_vars()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _catch_parses() -> None:
    """Keep the manifest dbt parses in this process (`_parsed`) for the next command."""
    from dbt.cli import requires

    if getattr(requires.parse_manifest, "keeps_manifest", False):
        return
    parse = requires.parse_manifest

    def parse_manifest(*args, **kwargs):
        manifest = parse(*args, **kwargs)
        _parsed.append(manifest)
        return manifest

    parse_manifest.keeps_manifest = True
    requires.parse_manifest = parse_manifest


def _invoke(command: list[str], *, verbose: bool, url: str | None = None):
    """Run one dbt command in this process with the project's paths; return dbtRunnerResult.
    A `build` or `docs` command reuses the manifest of the command before when it was parsed
    from the same inputs (`_parse_key`); a command dbt stops (an exception, not a failed node)
    leaves none. The objects alive when a command starts (a reused manifest, the libraries) are
    kept out of its garbage collections (`frozen_heap`, as `process_files` does for a run): a
    full collection otherwise walks them all, ~400k objects, 0.3 s in most builds of a warm
    process; they go back to the collector when the command ends."""
    from dbt.cli.main import dbtRunner

    _quick_behavior_flags()
    _keep_connections()
    _catch_parses()

    url = url or warehouse.warehouse_url()  # applies the migrations first
    profiles_dir = write_profiles(url)
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
        "--vars", json.dumps(dbt_vars()),
    ]
    # One build at a time per warehouse, across processes too (the CLI and an Airflow task).
    with _lock, psycopg.connect(url, autocommit=True) as lock_conn:
        lock_conn.execute("select pg_advisory_lock(hashtext('lhpn.marts'))")
        # every connection dbt opens waits for a lock (a BI reader's) a bounded time only
        previous = os.environ.get("PGOPTIONS")
        os.environ["PGOPTIONS"] = " ".join(
            filter(None, [previous, f"-c lock_timeout={settings.build_lock_timeout()}"]))
        key = _parse_key(url) if command[0] in ("build", "docs") else None
        reused = _manifest.pop(key, None) if key else None
        if key:  # one manifest at a time: one parsed from other inputs is let go
            _manifest.clear()
        _parsed.clear()
        try:
            with frozen_heap():
                result = dbtRunner(manifest=reused).invoke(args)
            manifest = reused if reused is not None else (_parsed[-1] if _parsed else None)
            # a node that failed leaves the manifest as it was; dbt stopping may not
            if key and manifest is not None and result.exception is None:
                _manifest[key] = manifest
            return result
        finally:
            _parsed.clear()
            if previous is None:
                os.environ.pop("PGOPTIONS", None)
            else:
                os.environ["PGOPTIONS"] = previous


# What a node fails with when another session held its lock: a BI reader past lock_timeout, or
# two of dbt's own threads replacing views that depend on each other (PostgreSQL ends one side
# of the deadlock). Both pass once the other side is done.
_LOCK_CONFLICTS = ("lock timeout", "deadlock detected")


def _lock_conflict(records: list[dict]) -> bool:
    """Whether a node of a build failed because another session held a lock it needed."""
    return any(r["status"].lower() in FAILED_STATUSES
               and any(m in (r["message"] or "") for m in _LOCK_CONFLICTS) for r in records)


def _invoke_with_retries(command: list[str], *, verbose: bool, url: str):
    """Run a dbt command; while nodes fail on a lock conflict (a lock timeout, a deadlock), pause
    and `dbt retry` them.
    Returns the last result, the node records of every attempt merged (the latest record of
    each node wins) and the number of attempts."""
    result = _invoke(command, verbose=verbose, url=url)
    records = {r["unique_id"]: r for r in _node_records(result)}
    attempts = 1
    # `dbt retry` reads the run_results.json of the run before: a build that wrote none (the
    # selective one) would retry some earlier build's failures, so it is run again as it was
    again = command if NO_ARTIFACTS in command else ["retry"]
    while (not result.success and _lock_conflict(list(records.values()))
           and attempts <= settings.build_lock_retries()):
        time.sleep(settings.build_retry_pause())
        result = _invoke(again, verbose=verbose, url=url)
        records.update({r["unique_id"]: r for r in _node_records(result)})
        attempts += 1
    return result, list(records.values()), attempts


def _node_records(result) -> list[dict]:
    """One small JSON-friendly record per node dbt ran (what the Airflow DAG maps over)."""
    records = []
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        resource_type = _kind(node)
        records.append({
            "unique_id": node.unique_id,
            "name": node.name,
            "resource_type": resource_type,
            "status": str(getattr(node_result.status, "value", node_result.status)),
            "execution_time": round(node_result.execution_time or 0, 3),
            "message": " ".join(str(node_result.message or "").split())[:600] or None,
        })
        if resource_type in TEST_TYPES:  # what model_statuses counts a test against
            records[-1]["depends_on"] = list(getattr(node.depends_on, "nodes", None) or [])
    return records


# The data tests an enforced constraint restates, by test name: the constraint types that imply
# each (a primary key or unique constraint covers exactly the tested columns).
_RESTATING = {"not_null": ("not_null", "primary_key"), "unique": ("unique", "primary_key"),
              "unique_combination": ("primary_key",)}


def _restated_tests(result) -> list[str]:
    """The data tests of a build that only restate an enforced constraint of their one model:
    not_null on a column the model declares not null (or part of its primary key), unique or
    unique_combination on exactly its primary key (or a unique constraint). PostgreSQL refuses
    rows breaking such a constraint while dbt writes the mart, so the test cannot fail after a
    build that succeeded."""
    nodes = [r.node for r in getattr(result.result, "results", None) or []]
    models = {n.unique_id: n for n in nodes if _kind(n) == "model"
              and getattr(getattr(n.config, "contract", None), "enforced", False)}
    restated = []
    for test in (n for n in nodes if _kind(n) == "test"):
        metadata = getattr(test, "test_metadata", None)
        parents = [p for p in test.depends_on.nodes if p.startswith("model.")]
        if metadata is None or metadata.name not in _RESTATING or len(parents) != 1 \
                or parents[0] not in models:
            continue
        keys = _constraint_keys(models[parents[0]], _RESTATING[metadata.name])
        columns = set(metadata.kwargs.get("columns") or [metadata.kwargs.get("column_name")])
        if metadata.name == "not_null":
            restated += [test.name] if any(columns <= set(key) for key in keys) else []
        else:
            restated += [test.name] if any(columns == set(key) for key in keys) else []
    return sorted(restated)


def _text(value) -> str:
    """A dbt enum member (resource type, constraint type) as its text."""
    return getattr(value, "value", str(value))


def _kind(node) -> str:
    return _text(node.resource_type)


def _constraint_keys(model, kinds: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The column sets of a model's constraints of these types (model and column level)."""
    keys = [tuple(c.columns) for c in model.constraints if _text(c.type) in kinds]
    keys += [(name,) for name, column in model.columns.items()
             for c in column.constraints if _text(c.type) in kinds]
    return keys


def _raise_on_failure(result, what: str, records: list[dict] | None = None) -> list[dict]:
    records = _node_records(result) if records is None else records
    if result.success:
        return records
    where = f"Details in {_log_path() / 'dbt.log'}."
    failures = [f"{r['unique_id']} ({r['status']}): {r['message'] or 'no message'}"
                for r in records if r["status"].lower() in FAILED_STATUSES]
    if failures:
        raise MartsError(f"{what} failed at {len(failures)} node(s): " + "; ".join(failures)
                         + f". {where}", records)
    raise MartsError(f"{what} failed: {result.exception or 'unknown error'}. {where}", records)


def _seeds_fingerprint() -> str:
    """Hash of what the seed tables are made from: the CSVs, their YAML and dbt_project.yml."""
    digest = hashlib.sha256()
    project = dbt_project_dir()
    for path in [project / "dbt_project.yml", *sorted((project / "seeds").iterdir())]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _seed_tables() -> list[str]:
    return sorted(p.stem for p in (dbt_project_dir() / "seeds").glob("*.csv"))


def _seeds_current(url: str, fingerprint: str) -> bool:
    """True when this data home already loaded these exact seeds and the tables still exist."""
    stamp = _target_path() / SEEDS_STAMP
    if not stamp.exists() or stamp.read_text(encoding="utf-8") != fingerprint:
        return False
    tables = _seed_tables()
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = %s and table_name = any(%s)", [SEED_SCHEMA, tables],
        ).fetchone()[0]
    return found == len(tables)


def build_marts(select: str | None = None, full_refresh: bool = False, *,
                unit_tests: bool = False, verbose: bool = False,
                feeds: tuple[str, ...] | None = None, state: dict | None = None) -> dict:
    """Run `dbt build` (seeds, models, data tests) and return what it did.

    `select` is a dbt selection (e.g. "emulation_ranking+"); `unit_tests` adds dbt's unit tests,
    which check the models' logic on fixed inputs, not the data: the test suite runs them, and
    routine builds skip them as dbt recommends for production. `verbose` lets dbt print its own
    log lines. `feeds` (for `refresh_marts`) says that `select` is the status feed plus the
    marts of these raw tables: the build stamp then records them as current, and the build
    skips dbt's artifacts and the tests an enforced constraint restates (see the module
    docstring); `state` is `_state()` as the caller just read it. Returns seconds,
    node_count, counts by resource type and by status, `nodes` (one record per node), `models`
    (the models built, by name) and `seeds_skipped`. Raises MartsError naming the failed nodes.
    """
    started = time.perf_counter()
    url = state["url"] if state else warehouse.warehouse_url()
    state = state or _state(url)  # read before the build: data arriving during it makes the next
    command = ["build"]
    # Reloading unchanged reference CSVs is the slowest step of a build: skip it (their tests
    # still run) when this data home loaded exactly these seeds before. Selecting every other
    # resource type, rather than excluding seeds, keeps the tests that read the seeds.
    fingerprint = _seeds_fingerprint()
    seeds_skipped = not select and not full_refresh and _seeds_current(url, fingerprint)
    restated: list[str] = []
    if select:
        command += ["--select", *select.split()]
        if feeds is not None:  # FEED_SELECT's view pattern matches nothing for most tables
            command += ["--warn-error-options",
                        json.dumps({"silence": ["NoNodesForSelectionCriteria"]}), NO_ARTIFACTS]
            restated = _read_stamp().get("restated_tests") or []
            if restated:  # they cannot fail after the mart was written (module docstring)
                command += ["--exclude", *restated]
    elif seeds_skipped:
        command += ["--select", *(f"resource_type:{kind}" for kind in ALL_BUT_SEEDS)]
    if not unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    if full_refresh:
        command.append("--full-refresh")
    result, records, attempts = _invoke_with_retries(command, verbose=verbose, url=url)
    seconds = round(time.perf_counter() - started, 2)
    records = _raise_on_failure(result, "dbt build", records)
    seeded = {r["name"] for r in records
              if r["resource_type"] == "seed" and r["status"] == "success"}
    if seeded == set(_seed_tables()):
        (_target_path() / SEEDS_STAMP).write_text(fingerprint, encoding="utf-8")
    if select is None or feeds is not None:
        _stamp(state, None if select is None else feeds,
               _restated_tests(result) if select is None else None)
    return {
        "seconds": seconds,
        "node_count": len(records),
        "by_type": dict(Counter(r["resource_type"] for r in records)),
        "by_status": dict(Counter(r["status"] for r in records)),
        "nodes": records,
        "models": sorted(r["name"] for r in records if r["resource_type"] == "model"),
        "seeds_skipped": seeds_skipped,
        "target_path": str(_target_path()),
        "attempts": attempts,
        "restated_left_out": bool(restated),
    }


def _project_fingerprint() -> str:
    """Hash of the dbt project's own files (models, macros, seeds, tests, dbt_project.yml)."""
    digest = hashlib.sha256()
    project = dbt_project_dir()
    skip = {"target", "logs", "dbt_packages"}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if path.is_file() and relative.parts[0] not in skip and not relative.name.startswith("."):
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _state(url: str) -> dict:
    """The warehouse as a build sees it: the status feed's and each raw table's fingerprints,
    marts present, project hash, today."""
    with psycopg.connect(url, autocommit=True) as conn:
        periods = [p for (p,) in conn.execute(warehouse.query("accepted_periods"))]
        row = conn.execute(warehouse.query("marts_state"),
                           {"marts": list(CONTRACT_MARTS), **_periods_read(periods)}).fetchone()
    received, *feeds, present = row
    return {"received": received, "feeds": dict(zip(FEEDS, feeds, strict=True)),
            "marts_present": present, "project": _project_fingerprint(),
            "today": settings.today().isoformat(), "url": url}


def _periods_read(periods: list[str]) -> dict:
    """Of each raw sheet table, which of these periods its marts read (`<table>_periods`,
    marts_state.sql): those of the kinds the dbt var sheet_period_kinds names for it (the models
    filter on the same var), None for a table it does not name (every period)."""
    kinds = settings.project_vars()["sheet_period_kinds"]
    parsed = {p: parse_period(p) for p in periods}
    return {f"{feed}_periods": None if feed not in kinds else
            [p for p, period in parsed.items() if period and period.kind in kinds[feed]]
            for feed in RAW_FEEDS}


def _read_stamp() -> dict:
    try:
        return json.loads((_target_path() / BUILD_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _stamp(state: dict, feeds: tuple[str, ...] | None,
           restated: list[str] | None = None) -> None:
    """Remember what a successful build was made from: everything (a full build, `feeds` None,
    with the tests its constraints restate), or the status feed and the raw tables `feeds` (a
    build of what was stale). A build of a selection asked for by hand (`feeds` None with a
    select) is not called here."""
    if feeds is None:
        stamp = {k: state[k] for k in ("received", "feeds", "project", "today")}
        stamp["restated_tests"] = restated or []
    else:
        old = _read_stamp()
        stamp = {**old, "received": state["received"],
                 "feeds": {**old.get("feeds", {}), **{f: state["feeds"][f] for f in feeds}}}
    path = _target_path() / BUILD_STAMP
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stamp), encoding="utf-8")


def stale_feeds(url: str | None = None) -> tuple[str, str, tuple[str, ...]]:
    """What the marts need now: ("full" | "select" | "status" | "none", why, raw tables); see
    `_plan`."""
    plan, reason, feeds, _state_now = _plan(url)
    return plan, reason, feeds


def _plan(url: str | None = None) -> tuple[str, str, tuple[str, ...], dict]:
    """What the marts need now: ("full" | "select" | "status" | "none", why, raw tables).

    Compares the warehouse with what the last successful builds were made from, so a run that
    changed nothing builds nothing, whichever path (CLI or DAG) ran it and even after a build
    that failed or was skipped (`lhpn run --no-marts`). "select" names the raw tables whose
    accepted submissions changed: their marts and the status feed are stale. Also returns the
    warehouse's state as read (`_state`), which the build then stamps.
    """
    state = _state(url or warehouse.warehouse_url())
    stamp = _read_stamp()
    if state["marts_present"] < len(CONTRACT_MARTS):
        return "full", "the marts do not exist yet", (), state
    if stamp.get("project") != state["project"]:
        return "full", "the dbt project changed since the last build", (), state
    if stamp.get("today") != state["today"]:
        return "full", (f"the calendar moved: last built for {stamp.get('today') or '?'}, "
                        f"today is {state['today']}"), (), state
    if not isinstance(stamp.get("feeds"), dict):
        return "full", "the record of the last build predates the per-table plan", (), state
    feeds = tuple(f for f in FEEDS if stamp["feeds"].get(f) != state["feeds"][f])
    periods = " and a new period" if PERIODS in feeds else ""
    tables = [f"raw.{f}" for f in feeds if f in RAW_FEEDS]
    tested = [f"raw.{f.removesuffix(ROWS)}" for f in feeds
              if f in ROW_FEEDS and f.removesuffix(ROWS) not in feeds]
    if tables or tested:
        rows = (("new rows no mart reads in " + ", ".join(tested) + " (their tests)")
                if tested else "")
        data = "new data in " + ", ".join(tables) if tables else ""
        return "select", (" and ".join(filter(None, (data, rows))) + " and the status of the files"
                          + periods), feeds, state
    if stamp.get("received") != state["received"] or feeds:
        return "status", ("only rejected files arrived: " + ", ".join(REJECTION_MARTS)
                          + periods), feeds, state
    return "none", "no data changed since the last build", (), state


def marts_plan(url: str | None = None) -> tuple[str, str]:
    """What the marts need now: ("full" | "select" | "status" | "none", why); see
    `stale_feeds`."""
    plan, reason, _feeds = stale_feeds(url)
    return plan, reason


def feed_select(feeds: tuple[str, ...]) -> str:
    """The dbt selection that rebuilds the status feed and the marts of `feeds`: of each raw
    table, what is downstream of its source in dbt's graph; of a table's ROW_FEEDS entry alone,
    the tests of its staging view; of PERIODS, the periods mart."""
    return " ".join([STATUS_SELECT, *(PERIODS for feed in feeds if feed == PERIODS),
                     *(pattern.format(feed=feed) for feed in feeds if feed in RAW_FEEDS
                       for pattern in FEED_SELECT),
                     *(ROWS_SELECT.format(feed=feed.removesuffix(ROWS)) for feed in feeds
                       if feed in ROW_FEEDS and feed.removesuffix(ROWS) not in feeds)])


def ensure_today(*, verbose: bool = False) -> dict:
    """Make the marts answer for today (`lhpn status`, `lhpn remind`, the `lhpn_calendar` DAG):
    what `refresh_marts` would build, so a day change alone rebuilds the calendar's models."""
    return refresh_marts(verbose=verbose)


def refresh_marts(select: str | None = None, full_refresh: bool = False, *,
                  verbose: bool = False) -> dict:
    """Build what the last ingest run made stale (see `stale_feeds`); a `select` or
    `full_refresh` always builds. Returns build_marts()'s summary with `plan`, `reason` and
    `built` (one line for the run summary: what was built, of how much) added (`nodes` empty
    and `seconds` 0 when nothing needed building)."""
    feeds: tuple[str, ...] = ()
    state = None  # the warehouse as the plan read it (read again by a build asked for)
    if select or full_refresh:
        plan, reason = "select" if select else "full", "asked for"
    else:
        plan, reason, feeds, state = _plan()
    if plan == "none":
        return {"plan": plan, "reason": reason, "built": "nothing", "seconds": 0.0,
                "node_count": 0, "by_type": {}, "by_status": {}, "nodes": [], "models": [],
                "seeds_skipped": True}
    if plan == "status" or feeds:
        select = feed_select(feeds)
    # what the stamp may record as current: only a build this plan chose
    stamped = feeds if plan == "status" or feeds else None
    summary = build_marts(select=select, full_refresh=full_refresh, verbose=verbose,
                          feeds=stamped, state=state)
    return {"plan": plan, "reason": reason, "built": _built_line(summary), **summary}


def _built_line(summary: dict) -> str:
    """`9 models (emulation_ranking, …), 41 tests`: what a build ran, for the run summary."""
    models = summary.get("models") or []
    tests = summary.get("by_type", {}).get("test", 0)
    names = ", ".join(models[:12]) + (", …" if len(models) > 12 else "")
    line = f"{len(models)} models ({names}), {tests} tests" if models else f"{tests} tests"
    if summary.get("restated_left_out"):
        line += " (those an enforced constraint restates are left to full builds)"
    return line


def model_statuses(nodes: list[dict], manifest_path: Path | None = None) -> list[dict]:
    """Per model and seed of a dbt build, with the outcome of the tests on it.

    `nodes` are the per-node records of `build_marts`: a test's record names the models it
    depends on (it counts against each of them); for records without (older ones) the manifest
    tells (by default the one of this data home, which selective builds do not rewrite).
    """
    depends = {n["unique_id"]: n["depends_on"] for n in nodes if "depends_on" in n}
    if any(n["resource_type"] in TEST_TYPES and n["unique_id"] not in depends for n in nodes):
        manifest_path = Path(manifest_path or _target_path() / "manifest.json")
        manifest = (json.loads(manifest_path.read_text(encoding="utf-8"))
                    if manifest_path.exists() else {})
        depends = {**{uid: node.get("depends_on", {}).get("nodes", []) for kind in
                      ("nodes", "unit_tests") for uid, node in manifest.get(kind, {}).items()},
                   **depends}

    models: dict[str, dict] = {}
    for node in nodes:
        if node["resource_type"] in {"model", "seed", "snapshot"}:
            status = str(node["status"]).lower()
            models[node["unique_id"]] = {
                "name": node["name"], "resource_type": node["resource_type"], "status": status,
                "seconds": node.get("execution_time") or 0.0, "message": node.get("message"),
                "tests": {}, "failed_tests": [], "failed": status in FAILED_STATUSES,
            }
    for node in nodes:
        if node["resource_type"] not in TEST_TYPES:
            continue
        status = str(node["status"]).lower()
        for parent in (p for p in depends.get(node["unique_id"], []) if p in models):
            record = models[parent]
            record["tests"][status] = record["tests"].get(status, 0) + 1
            if status in FAILED_STATUSES:
                record["failed"] = True
                record["failed_tests"].append(f"{node['name']}: {node.get('message')}")
    order = {"seed": 0, "snapshot": 1, "model": 2}
    return sorted(models.values(), key=lambda m: (order[m["resource_type"]], m["name"]))


def docs_generate(*, verbose: bool = False) -> Path:
    """Run `dbt docs generate --static`; return dbt's one-page site (manifest and catalog
    embedded). `ingest.pages.dbt_docs` installs it into site/dbt/."""
    result = _invoke(["docs", "generate", "--static"], verbose=verbose)
    _raise_on_failure(result, "dbt docs generate")
    return _target_path() / "static_index.html"
