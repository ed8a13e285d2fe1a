"""Shared fixtures. What takes seconds to set up is set up once per test process (each xdist
worker is one process, with its own embedded PostgreSQL) and shared:

- `lhpn_home`, `warehouse_url`: the data home of the session and its embedded server.
- `home`, `db`: a clean data home and warehouse per test (empty folders, empty raw and audit).
- `loaded_warehouse`: the bundled samples and a resubmission loaded by the pipeline, the marts
  and the pages built, once; for tests that only read them (they carry the xdist group
  `loaded_warehouse`, so one worker builds it, and it is built again only if a test in between
  loaded other data).
- dbt's parse per process (tests/parse_cache.py): a copy for each date and server it was made
  for, put back before dbt runs with them again, so a test that moves LHPN_TODAY (and the next,
  back on today's date) partial-parses instead of parsing the project again.
- `airflow_template`, `airflow_env`: one Airflow home per process, its metadata schema migrated
  once into a template database; each test gets a metadata database of its own, copied from it.
- `airflow_dag_tests`: one process that runs `dag.test()` for the tests of this process on the
  session's data home (Airflow, dbt and Great Expectations imported once, not once per test).

The hooks at the end hand the tests to the workers (tests/scheduling.py): tests that share a
module fixture or an xdist group run on one worker, in a row, and the longest start first.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests import loaded, scheduling
from tests.parse_cache import ParseCache

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "contract"


@pytest.fixture(scope="session")
def lhpn_home(tmp_path_factory) -> Iterator[Path]:
    """A data home for the test session, with its embedded PostgreSQL (started once)."""
    root = tmp_path_factory.mktemp("home")
    os.environ["LHPN_HOME"] = str(root)
    os.environ.pop("LHPN_INBOX", None)
    os.environ.pop("LHPN_WAREHOUSE_URL", None)
    os.environ["LHPN_SETTLE_SECONDS"] = "0"
    # a dbt build that met a lock or a deadlock between its threads is retried after 1 s, not
    # the 10 s of production (tests that are about the retries set their own)
    os.environ["LHPN_BUILD_RETRY_PAUSE"] = "1"
    global _parse_cache
    if os.environ.get("LHPN_TEST_DBT_PARSE_CACHE", "1") != "0":  # 0: dbt as it comes, to compare
        _parse_cache = ParseCache(tmp_path_factory.mktemp("dbt_parses"))
        _parse_cache.install()
    yield root
    from ingest import warehouse
    from ingest.settings import Home

    # the server outlives CLI calls by design, but not the test session
    warehouse.stop_embedded(Home(root, root / "inbox", root / "outbox"))


@pytest.fixture(scope="session")
def warehouse_url(lhpn_home) -> str:
    from ingest import warehouse

    url = warehouse.warehouse_url()
    # the session's own throwaway server: commits need not wait for the disk (a crash would
    # lose only this session's test data); the data homes of users keep PostgreSQL's defaults
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"alter system set {setting} = off")
        conn.execute("select pg_reload_conf()")
    if _parse_cache is not None:
        _parse_cache.session_url = url
    return url


_parse_cache: ParseCache | None = None  # dbt's parses of this process (tests/parse_cache.py)


@pytest.fixture(autouse=True)
def _dbt_parse_of_today():
    """Before each test, the session's data home holds dbt's parse for today's real date (once
    one was made), whatever date the test before built for: an `lhpn` subprocess on it then
    partial-parses."""
    if _parse_cache is not None:
        _parse_cache.restore()
    yield
    if _parse_cache is not None:
        _parse_cache.adopt()


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


@pytest.fixture(scope="session")
def tcp_homes(lhpn_home):
    """Data homes whose server also listens on TCP (tests/tcp_homes.py); tests that share one
    carry one xdist group. Their servers stop at the end of the session."""
    from tests.tcp_homes import TcpHomes

    homes = TcpHomes()
    yield homes
    homes.close()


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
    and the metadata schema migrated once per session, into `airflow_template`: the first test
    process runs `airflow db migrate` and leaves a dump of the result beside the other test
    processes' temporary folders; the others load that dump into their own server (a
    `psql` instead of Airflow's import and migrations, ~3 s of CPU). Tests take `airflow_env`."""
    from cryptography.fernet import Fernet

    from ingest import warehouse
    from ingest.airflow.local import airflow_env as env_for
    from ingest.settings import home
    from tests.airflow_support import run
    from tests.postgres_cluster import pg_bin

    env = {**os.environ, **env_for(home(), database=AIRFLOW_TEMPLATE_DB)}
    env["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow_home"))
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(
        Path(env["AIRFLOW_HOME"]) / "passwords.json")
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    url, log = warehouse.server_url(AIRFLOW_TEMPLATE_DB), Path(env["AIRFLOW_HOME"]) / "migrate.log"
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    dump, key = shared / "airflow_template.sql", shared / "airflow_template.fernet"
    with open(shared / "airflow_template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a process that migrates holds it until the dump is out
        if dump.exists():
            env["AIRFLOW__CORE__FERNET_KEY"] = key.read_text(encoding="utf-8")
            run(env, [str(pg_bin() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url,
                      "-f", str(dump)], log)
        else:
            env["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()
            run(env, [sys.executable, "-m", "airflow", "db", "migrate"], log)
            run(env, [str(pg_bin() / "pg_dump"), "--no-owner", "--no-privileges", "-d", url,
                      "-f", str(dump.with_suffix(".tmp"))], log.with_name("dump.log"))
            key.write_text(env["AIRFLOW__CORE__FERNET_KEY"], encoding="utf-8")
            dump.with_suffix(".tmp").replace(dump)
    return env


def _copy_of_airflow_template(name: str) -> str:
    """A metadata database `name` on the session's server, migrated (a copy of the template,
    made in about a second); returns its libpq URL."""
    from ingest import warehouse

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(AIRFLOW_TEMPLATE_DB)))
    return warehouse.server_url(name)


@pytest.fixture
def airflow_database(airflow_template):
    """`airflow_database(name)`: a metadata database `name` on the session's server, migrated
    (a copy of the template, made in about a second); returns its libpq URL."""
    return _copy_of_airflow_template


@pytest.fixture
def airflow_env(airflow_template, airflow_database) -> dict:
    """The environment of an Airflow on the session's data home, with a metadata database of
    this test's own (no runs, no asset events of other tests)."""
    from ingest.airflow.local import sqlalchemy_url

    url = airflow_database(f"airflow_test_{next(_airflow_databases)}")
    return {**airflow_template, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(url)}


@pytest.fixture(scope="session")
def _dag_tests_process(airflow_template) -> Iterator:
    from ingest.airflow.local import sqlalchemy_url
    from tests.airflow_support import NO_COMMIT_WAIT, DagTests

    url = _copy_of_airflow_template("airflow_dag_tests")
    env = {**airflow_template, **NO_COMMIT_WAIT,
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(url),
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}  # the task logs as an operator reads them
    process = DagTests(env, Path(env["AIRFLOW_HOME"]) / "dag_tests.log")
    yield process
    process.stop()


@pytest.fixture
def airflow_dag_tests(_dag_tests_process, home):
    """`dag.test()` of the DAGs on the session's data home (`home`, cleaned for the test): a
    `tests.airflow_support.DagTests`, one process for the tests of this process, on a metadata
    database of its own (its `env`: the runs and asset events of the tests before are there).
    Tests that take it carry `pytest.mark.xdist_group("airflow_dag_tests")`, so they share it."""
    return _dag_tests_process


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


# ---------------------------------------------------------------- tests handed to the workers

_UNITS = pytest.StashKey[Path]()


def _units_folder(config: pytest.Config) -> Path:
    """The folder the workers write their units into (controller side, made once)."""
    if _UNITS not in config.stash:
        config.stash[_UNITS] = Path(tempfile.mkdtemp(prefix="lhpn-pytest-units-"))
    return config.stash[_UNITS]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput[scheduling.UNITS_DIR] = str(_units_folder(node.config))


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") not in ("load", "loadgroup", "loadscope"):
        return None  # `--dist each`, `loadfile`, `worksteal` as asked
    config.option.loadscopereorder = False  # collection order: the longest first
    return scheduling.UnitScheduling(config, log, _units_folder(config))


def pytest_collection_modifyitems(config, items):
    scheduling.order(config, items)


def pytest_unconfigure(config):
    if _UNITS in config.stash:
        shutil.rmtree(config.stash[_UNITS], ignore_errors=True)
