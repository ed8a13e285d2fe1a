"""Shared fixtures. What takes seconds to set up is set up once per test process (each xdist
worker is one process, with its own embedded PostgreSQL) and shared:

- `lhpn_home`, `warehouse_url`: the data home of the session and its embedded server.
- `home`, `db`: a clean data home and warehouse per test (empty folders, empty raw and audit).
- `loaded_warehouse`: the bundled samples and a resubmission loaded by the pipeline, the marts
  and the pages built, once; for tests that only read them (they carry the xdist group
  `loaded_warehouse`, so one worker builds it, and it is built again only if a test in between
  loaded other data).
- `airflow_template`, `airflow_env`: one Airflow home per process, its metadata schema migrated
  once into a template database; each test gets a metadata database of its own, copied from it.

`pytest_collection_modifyitems` puts the longest tests first, whole modules and xdist groups kept
together, so the parallel run does not end waiting on one long test started last.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests import loaded

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "contract"


@pytest.fixture(scope="session")
def lhpn_home(tmp_path_factory) -> Iterator[Path]:
    """A data home for the test session, with its embedded PostgreSQL (started once)."""
    root = tmp_path_factory.mktemp("home")
    os.environ["LHPN_HOME"] = str(root)
    os.environ.pop("LHPN_INBOX", None)
    os.environ.pop("LHPN_WAREHOUSE_URL", None)
    os.environ["LHPN_SETTLE_SECONDS"] = "0"
    yield root
    from ingest import warehouse
    from ingest.settings import Home

    # the server outlives CLI calls by design, but not the test session
    warehouse.stop_embedded(Home(root, root / "inbox", root / "outbox"))


@pytest.fixture(scope="session")
def warehouse_url(lhpn_home) -> str:
    from ingest import warehouse

    return warehouse.warehouse_url()


@pytest.fixture
def home(lhpn_home, warehouse_url):
    """A clean data home and warehouse: empty folders, empty raw and audit tables."""
    from ingest.settings import home as get_home

    data_home = get_home()
    for folder in ("inbox", "archive", "quarantine", "reports", "outbox"):
        shutil.rmtree(lhpn_home / folder, ignore_errors=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(loaded.TRUNCATE_RAW_AND_AUDIT)
    return data_home.ensure()


@pytest.fixture
def db(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


# ---------------------------------------------------------------- a loaded warehouse, shared

@pytest.fixture(scope="session")
def _loaded_state() -> dict:
    return {}


@pytest.fixture
def loaded_warehouse(lhpn_home, warehouse_url, _loaded_state):
    """The data home after `tests.loaded.load_samples` (its `Home`). Read it, never load into
    it; tests that use it carry `pytest.mark.xdist_group("loaded_warehouse")`. Loaded once per
    process, again only when a test in between changed what was received."""
    from ingest.settings import home as get_home

    data_home = get_home()
    if (not _loaded_state
            or _loaded_state["fingerprint"] != loaded.fingerprint(warehouse_url, data_home)):
        loaded.load_samples(lhpn_home, warehouse_url)
        _loaded_state["fingerprint"] = loaded.fingerprint(warehouse_url, data_home)
        _loaded_state["loads"] = _loaded_state.get("loads", 0) + 1
    return data_home


# ---------------------------------------------------------------- Airflow

AIRFLOW_TEMPLATE_DB = "airflow_template"
_airflow_databases = itertools.count(1)


def _admin_url() -> str:
    from ingest import warehouse

    return warehouse.server_url("postgres")


@pytest.fixture(scope="session")
def airflow_template(lhpn_home, warehouse_url, tmp_path_factory) -> dict:
    """The environment of an Airflow on the session's data home: one AIRFLOW_HOME (one
    airflow.cfg) for the process, one Fernet key for every metadata database of the session,
    and the metadata schema migrated once, into `airflow_template`. Tests take `airflow_env`."""
    from cryptography.fernet import Fernet

    from ingest.airflow.local import airflow_env as env_for
    from ingest.settings import home
    from tests.airflow_support import run

    env = {**os.environ, **env_for(home(), database=AIRFLOW_TEMPLATE_DB)}
    env["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow_home"))
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(
        Path(env["AIRFLOW_HOME"]) / "passwords.json")
    env["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    run(env, [sys.executable, "-m", "airflow", "db", "migrate"],
        Path(env["AIRFLOW_HOME"]) / "migrate.log")
    return env


@pytest.fixture
def airflow_database(airflow_template):
    """`airflow_database(name)`: a metadata database `name` on the session's server, migrated
    (a copy of the template, made in about a second); returns its libpq URL."""
    from ingest import warehouse

    def create(name: str) -> str:
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(AIRFLOW_TEMPLATE_DB)))
        return warehouse.server_url(name)

    return create


@pytest.fixture
def airflow_env(airflow_template, airflow_database) -> dict:
    """The environment of an Airflow on the session's data home, with a metadata database of
    this test's own (no runs, no asset events of other tests)."""
    from ingest.airflow.local import sqlalchemy_url

    url = airflow_database(f"airflow_test_{next(_airflow_databases)}")
    return {**airflow_template, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(url)}


# ---------------------------------------------------------------- helpers of several modules

@pytest.fixture
def refuse_loading(monkeypatch):
    """`refuse_loading(name)`: from now on the database refuses every load batch that holds the
    file `name` (as it would a value out of range); the other files load. Returns the real
    `load_batch`, to put back."""
    from ingest.load import submissions

    real = submissions.load_batch

    def refuse(name: str):
        def refusing(conn, batch, run_id):
            if any(b.parsed.source_file == name for b in batch):
                raise psycopg.errors.DataException("simulated: value out of range")
            return real(conn, batch, run_id)

        monkeypatch.setattr(submissions, "load_batch", refusing)
        return real

    return refuse


@pytest.fixture
def fake_smtp(monkeypatch) -> list[tuple]:
    """Mail to the operators goes to a list instead of an SMTP server: ("connect", host, port)
    and ("message", to, subject, body) entries. The settings that switch mail on are cleared."""
    from ingest.outbox import mail

    sent: list[tuple] = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(("message", message["To"], message["Subject"], message.get_content()))

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    for name in ("LHPN_NOTIFY_TO", "LHPN_SMTP_HOST", "LHPN_SMTP_USER"):
        monkeypatch.delenv(name, raising=False)
    return sent


# ---------------------------------------------------------------- the longest tests first

# Seconds the longest tests take on two quiet cores, roughly; a module's own entry is the setup
# its tests share. `pytest -n auto` hands tests out in collection order, so these start first
# and the run does not end with one worker busy on a long test started last. Any other test
# counts 10 s when marked slow (1 s in a unit of several), 1 s otherwise. Only the order
# matters: refresh it from `make test ARGS=--durations=40` when a test grows past another.
LONGEST = {
    "tests/test_production.py": 10,  # a cluster of its own, prepared by the init script
    "tests/test_production.py::test_both_dags_on_the_airflow_metadata_database": 50,
    "tests/test_production.py::test_migrations_and_lhpn_run_as_the_warehouse_role": 27,
    "tests/test_celery.py::test_both_dags_run_on_a_celery_worker": 70,
    "tests/test_superset.py::test_the_dashboard_imports_into_superset_and_every_chart_has_data":
        65,
    "tests/test_lifecycle.py::test_killing_lhpn_run_while_it_parses_leaves_nothing_stuck": 57,
    "tests/test_bi_access.py::test_the_bi_password_never_reaches_the_server_log": 35,
    "tests/test_bi_access.py::test_a_reader_holding_a_mart_open_does_not_stall_lhpn_run": 34,
    "tests/test_lifecycle.py::test_lhpn_rebuild_reproduces_every_mart": 27,
    "tests/test_hostile.py::test_hostile_inbox_runs_to_the_end_within_the_memory_bound": 22,
    "tests/test_dags.py::test_file_drop_through_both_dags": 22,
    "tests/test_lifecycle.py::test_a_burst_far_above_the_lock_table_loads_in_one_run": 20,
    "tests/test_lifecycle.py::test_an_immutable_file_stops_no_run": 20,
    "tests/test_marts_refresh.py::test_a_new_day_rebuilds_the_calendar_without_new_files": 20,
    "tests/test_hostile.py::test_odd_names_and_links_do_not_stop_the_ingest_dag": 20,
    "tests/test_marts_refresh.py::test_lhpn_run_builds_only_what_the_run_made_stale": 19,
    "tests/test_receipts.py::"
    "test_accepted_receipt_quotes_the_marts_and_is_rewritten_when_they_change": 19,
    "tests/test_calendar.py::"
    "test_operators_are_mailed_the_late_provinces_once_when_configured": 19,
    "tests/test_calendar.py::"
    "test_reminders_once_per_province_and_stage_withdrawn_when_accepted": 17,
    "tests/test_messages.py::test_every_finding_kind_is_actionable_in_both_languages": 17,
    "tests/test_quoted_cells.py::test_every_quoted_cell_is_the_real_cell": 15,
    "tests/test_round_figures.py::"
    "test_the_template_filled_as_an_office_fills_it_scores_its_own_indicators": 15,
    "tests/test_cli.py::test_first_run_processes_the_samples_and_prints_the_summary": 13,
    "tests/test_template.py::test_every_template_of_a_round_loads_without_findings": 12,
    "tests/test_pages.py::test_every_page_fits_a_phone_screen": 11,
    "tests/test_ingest.py::test_killed_loader_leaves_nothing_half_loaded": 10,
    "tests/test_marts.py": 8,  # one dbt build with its unit tests
    "tests/test_marts.py::test_routine_builds_leave_unit_tests_to_the_test_suite": 5,
    "tests/test_round_figures.py::"
    "test_partial_sums_say_so_and_a_yearly_sum_counts_the_half_year_once": 8,
    "tests/test_attention.py::test_a_dbt_run_in_a_task_process_leaves_no_leaked_semaphores": 7,
    "tests/test_dags.py::test_calendar_dag_reminds_the_provinces_with_nothing_accepted": 7,
    "tests/test_dags.py": 7,  # the DAG folder parsed by Airflow in a subprocess
    "tests/test_calendar.py::test_an_old_copy_dropped_after_the_due_date_is_late": 6,
    "tests/test_communes.py::test_a_2025_report_of_lam_dong_loads_its_communes_with_their_codes":
        6,
    "tests/test_bench_smoke.py::test_quick_bench_without_dbt_reports_every_path": 6,
    "tests/test_communes.py::test_2021_2025_and_2021_2026_are_one_term": 5,
    "tests/test_bi_access.py::test_a_province_login_reads_only_its_own_rows": 5,
    "tests/test_pages.py::"
    "test_dbt_docs_open_offline_and_are_regenerated_only_when_the_project_changed": 4,
}
LOADED_WAREHOUSE_SETUP = 12  # tests.loaded.load_samples: the samples, a dbt build, the pages


def _unit(item: pytest.Item) -> str | None:
    """The group of tests that must run together, one after another on one worker: the xdist
    group a test names, or its module when it uses a fixture wider than the function (set up
    once for the tests that run in a row). None for a test on its own."""
    for mark in item.iter_markers("xdist_group"):
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        if defs and defs[-1].scope in ("module", "class", "package"):
            return item.nodeid.split("::")[0]
    return None


def _cost(items: list[pytest.Item]) -> float:
    """Seconds a unit of tests takes, roughly: its tests and the setup they share."""
    seconds = 0.0
    for item in items:  # in a unit, a slow test is mostly its share of the unit's setup
        alone_slow = len(items) == 1 and item.get_closest_marker("slow")
        seconds += LONGEST.get(item.nodeid.split("[")[0], 10.0 if alone_slow else 1.0)
    modules = {item.nodeid.split("::")[0] for item in items}
    seconds += sum(LONGEST.get(module, 0) for module in modules)
    if any("loaded_warehouse" in item.fixturenames for item in items):
        seconds += LOADED_WAREHOUSE_SETUP
    return seconds


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        group = _unit(item)
        if group is not None and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))
        units.setdefault(group or item.nodeid, []).append(item)
    first = {key: n for n, key in enumerate(units)}
    ranked = sorted(units, key=lambda key: (-_cost(units[key]), first[key]))
    items[:] = [item for key in ranked for item in units[key]]
