"""BI access (contract §4, §6; issue 19): a reader never stalls the pipeline, the BI password
never reaches the server, bi_reader sees marts only, a province login reads its own rows."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest import warehouse
from tests.workbooks import drop, report

LHPN = [sys.executable, "-m", "ingest.cli.main"]
# Short limits for the tests (the defaults are 300 s, 60 s, 10 s, 10 s): a reader idle in a
# transaction is ended after 4 s, a build statement waits 1 s for a lock, then retries.
SHORT_LIMITS = {"LHPN_BI_IDLE_IN_TRANSACTION_TIMEOUT": "4", "LHPN_BI_STATEMENT_TIMEOUT": "30",
                "LHPN_BUILD_LOCK_TIMEOUT": "1", "LHPN_BUILD_RETRY_PAUSE": "1",
                "LHPN_BUILD_LOCK_RETRIES": "30"}


def lhpn(*args: str, env: dict | None = None, timeout: float = 600):
    return subprocess.run([*LHPN, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def short_limits(monkeypatch, warehouse_url):
    """The short limits, set on the roles; the defaults put back afterwards."""
    for name, value in SHORT_LIMITS.items():
        monkeypatch.setenv(name, value)
    warehouse.migrate(warehouse_url)
    yield SHORT_LIMITS
    for name in SHORT_LIMITS:
        monkeypatch.delenv(name)
    warehouse.migrate(warehouse_url)


@pytest.fixture
def built(home):
    """The samples processed and the marts built by `lhpn run` (in this process), for a test
    that loads more."""
    from click.testing import CliRunner

    from ingest.cli.main import main

    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 0, (result.output, result.exception)
    return home


@pytest.mark.slow
def test_a_reader_holding_a_mart_open_does_not_stall_lhpn_run(built, short_limits, db):
    """A BI session leaves a transaction open on a mart during `lhpn run` over a new file. The
    build's replacement of that mart waits 1 s for the lock, gives up and retries, while
    other BI queries keep answering; the server ends the idle reader after 4 s, the retry gets
    through, and the run finishes with the new file in the marts."""
    bi = warehouse.bi_url()
    holder = psycopg.connect(bi)  # not autocommit: the select opens a transaction
    with holder.cursor() as cur:
        cur.execute("select count(*) from marts.term_scorecard")
        cur.fetchone()
    build_waited = threading.Event()

    def hold():
        # keep the transaction busy (never idle 4 s) until the build waits for its lock, then
        # sit idle in it, as a BI tool left open on a dashboard does
        while not build_waited.is_set():
            try:
                holder.execute("select 1 from marts.term_scorecard limit 1")
            except psycopg.Error:
                return
            build_waited.wait(1)

    holding = threading.Thread(target=hold, daemon=True)
    holding.start()

    drop(built.inbox, report("60", "2024", seed=19, met=8))  # version 2 of a sample report
    started = time.monotonic()
    run = subprocess.Popen([*LHPN, "run", "--no-samples"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    answered, answered_while_blocked, slowest = 0, 0, 0.0
    with psycopg.connect(bi, autocommit=True) as other:
        while run.poll() is None:
            blocked = db.execute(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                " and datname = current_database()").fetchone()[0] > 0
            if blocked:
                build_waited.set()
            asked = time.monotonic()
            other.execute("select count(*) from marts.term_scorecard").fetchone()
            slowest = max(slowest, time.monotonic() - asked)
            answered += 1
            answered_while_blocked += blocked
            time.sleep(0.2)
    out, err = run.communicate(timeout=600)
    seconds = time.monotonic() - started
    print(f"\nlhpn run with a reader holding a lock: {seconds:.1f} s; other reader answered "
          f"{answered} queries ({answered_while_blocked} while the build waited), slowest "
          f"{slowest:.2f} s")
    assert run.returncode == 0, out + err
    assert build_waited.is_set(), "the build never met the reader's lock: the test proved nothing"
    assert answered_while_blocked > 0
    assert "a lock on the marts was held (a BI session, or dbt's own threads): retried" in out
    # the server ended the idle reader; the new version is in the marts
    with pytest.raises(psycopg.Error, match="idle-in-transaction"):
        holder.execute("select 1")
    holder.close()
    assert db.execute("select version from marts.term_scorecard where province_code = '60'"
                      " and period = '2024'").fetchone() == (2,)


@pytest.mark.slow
def test_a_mart_is_swapped_in_one_transaction_on_a_kept_connection(built, monkeypatch):
    """The build keeps each dbt thread's connection for its next node (`_keep_connections`).
    dbt ends a model's transaction with a COMMIT sent as SQL, unseen by psycopg2: unless the
    connection is set back, psycopg2 begins no transaction for the next node, whose statements
    then commit one by one (a mart's two renames too: a BI reader between them finds no mart,
    as the test above saw now and then). Every connection kept after a node is set back."""
    from dbt.adapters.postgres.connections import PostgresConnectionManager
    from psycopg2.extensions import STATUS_READY

    from ingest.marts import build

    build._keep_connections()
    release = PostgresConnectionManager.release
    kept: list[tuple[str, int]] = []

    def watched(self) -> None:
        release(self)
        conn = self.get_if_exists()
        if conn is not None and conn.state == "open" and not conn.handle.closed:
            kept.append((conn.name, conn.handle.status))

    watched.keeps_connections = True  # `_invoke` does not wrap it again
    monkeypatch.setattr(PostgresConnectionManager, "release", watched)
    build.build_marts(select="term_scorecard")
    models = [(name, status) for name, status in kept if name.startswith("model.")]
    assert models, kept
    assert all(status == STATUS_READY for _, status in kept), kept


def test_bi_reader_sessions_are_confined(warehouse_url, short_limits):
    """Role settings the server applies to every bi_reader session, from the settings."""
    with psycopg.connect(warehouse.bi_url(), autocommit=True) as conn:
        shown = {name: conn.execute(f"show {name}").fetchone()[0] for name in (
            "statement_timeout", "idle_in_transaction_session_timeout",
            "default_transaction_read_only")}
        assert shown == {"statement_timeout": "30s", "idle_in_transaction_session_timeout": "4s",
                         "default_transaction_read_only": "on"}
        conn.execute("set default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="temporary"):
            conn.execute("create temporary table scratch (x int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema public"):
            conn.execute("create table public.scratch (x int)")


def test_navigators_list_only_marts(warehouse_url, db):
    """What a BI navigator lists as bi_reader: information_schema shows the marts' relations
    only (besides the system catalogs every role reads); other schemas cannot be used and
    other databases cannot be opened."""
    db.execute("create table if not exists marts.navigator_probe as select 1 as x")
    db.execute("grant select on marts.navigator_probe to bi_reader")
    try:
        bi = warehouse.bi_url()
        with psycopg.connect(bi, autocommit=True) as conn:
            tables = conn.execute(
                "select distinct table_schema from information_schema.tables"
                " where table_schema not in ('pg_catalog', 'information_schema')").fetchall()
            assert tables == [("marts",)]
            usable = [r[0] for r in conn.execute(
                "select nspname from pg_namespace where has_schema_privilege(oid, 'USAGE')"
                " and nspname not in ('pg_catalog', 'information_schema') order by 1")]
            assert usable == ["marts"]
            databases = [r[0] for r in conn.execute(
                "select datname from pg_database where datallowconn"  # template0 never opens
                " and has_database_privilege(datname, 'CONNECT') order by 1")]
            assert databases == [warehouse.WAREHOUSE_DB]
            assert not conn.execute(
                "select has_database_privilege(current_database(), 'TEMP')").fetchone()[0]
        other = bi.replace(f"/{warehouse.WAREHOUSE_DB}?", "/postgres?")
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(other)
        # a second warehouse database on the server (a rehearsal) takes PUBLIC's CONNECT on
        # this one away, not bi_reader's
        second = warehouse.server_url("lhpn_second_warehouse")
        warehouse.migrate(second)
        with psycopg.connect(bi) as conn:
            assert conn.execute("select current_database()").fetchone() == ("lhpn",)
    finally:
        db.execute("drop table marts.navigator_probe")


@pytest.mark.slow
@pytest.mark.xdist_group("loaded_warehouse")
def test_a_province_login_reads_only_its_own_rows(loaded_warehouse, db):
    """`lhpn bi-role 60` (Bình Thuận, merged into Lâm Đồng 68 on 1 July 2025) creates a login
    that reads province 60's rows and nobody else's in every mart with a province column;
    bi_reader still reads every row; running it again changes nothing."""
    first = lhpn("bi-role", "60")
    assert first.returncode == 0, first.stderr
    url = first.stdout.strip()
    assert url.startswith("postgresql://bi_province_60:")
    assert lhpn("bi-role", "60").stdout.strip() == url, "idempotent: same login, same password"
    marts_with_province = [r[0] for r in db.execute(
        "select table_name from information_schema.columns where table_schema = 'marts'"
        " and column_name = 'province_code' order by 1")]
    assert {"term_scorecard", "emulation_ranking", "poverty_support_outcomes",
            "submission_status", "provinces"} <= set(marts_with_province)
    own_rows = 0
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as province, \
            psycopg.connect(warehouse.bi_url(), autocommit=True) as reader:
        assert province.execute("select current_user").fetchone()["current_user"] == \
            "bi_province_60"
        for mart in marts_with_province:
            has_2025 = db.execute(
                "select count(*) from information_schema.columns where table_schema = 'marts'"
                " and table_name = %s and column_name = 'province_code_2025'",
                [mart]).fetchone()[0]
            mine = "province_code = '60'" + (" or province_code_2025 = '60'" if has_2025 else "")
            seen = province.execute(f"select * from marts.{mart}").fetchall()
            assert all(r["province_code"] == "60" or r.get("province_code_2025") == "60"
                       for r in seen), mart
            expected = db.execute(f"select count(*) from marts.{mart} where {mine}").fetchone()[0]
            assert len(seen) == expected, mart
            everyone = db.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            assert reader.execute(f"select count(*) from marts.{mart}").fetchone()[0] == everyone
            own_rows += len(seen)
        assert own_rows > 0
        # the sample province 51 (Quảng Ngãi) is there for bi_reader, never for 60
        assert reader.execute("select count(*) from marts.term_scorecard"
                              " where province_code = '51'").fetchone()[0] > 0
        assert province.execute("select count(*) from marts.term_scorecard"
                                " where province_code = '51'").fetchone()["count"] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            province.execute("select * from raw.submissions")
        shown = province.execute("show idle_in_transaction_session_timeout").fetchone()
        assert shown["idle_in_transaction_session_timeout"] == "1min"

    # a rebuild recreates the tables: the policies come back with them
    from ingest.marts import build as marts

    marts.build_marts(select="term_scorecard")
    with psycopg.connect(url, autocommit=True) as province:
        codes = {r[0] for r in province.execute("select province_code from marts.term_scorecard")}
    assert codes == {"60"}

    unknown = lhpn("bi-role", "99")
    assert unknown.returncode == 2
    assert "Mã tỉnh '99' không có trong danh sách tỉnh" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.mark.xdist_group("loaded_warehouse")
def test_jdbc_metadata_shows_keys_and_typed_numerics(loaded_warehouse):
    """What a JDBC driver reads as bi_reader (pgjdbc's getPrimaryKeys and getColumns read
    pg_catalog): primary keys on the dimensions and contract marts, numerics with precision."""
    with psycopg.connect(warehouse.bi_url(), autocommit=True) as conn:
        keys = dict(conn.execute(
            """select c.relname, string_agg(a.attname, ',' order by k.n)
               from pg_constraint as con
               join pg_class as c on c.oid = con.conrelid
               join pg_namespace as ns on ns.oid = c.relnamespace
               cross join lateral unnest(con.conkey) with ordinality as k(attnum, n)
               join pg_attribute as a on a.attrelid = c.oid and a.attnum = k.attnum
               where ns.nspname = 'marts' and con.contype = 'p'
               group by c.relname""").fetchall())
        numerics = conn.execute(
            "select table_name, column_name, numeric_precision, numeric_scale"
            " from information_schema.columns where table_schema = 'marts'"
            " and data_type = 'numeric' order by 1, 2").fetchall()
        provinces = conn.execute("select * from marts.provinces where province_code = '52'"
                                 " order by valid_from").fetchall()
    print("\nprimary keys:", keys)
    assert keys["provinces"] == "province_key"
    assert keys["indicators"] == "indicator_code"
    assert keys["periods"] == "period"
    assert keys["build_info"] == "build_info_id"
    assert keys["term_scorecard"] == "province_code,term,period"
    assert keys["term_indicator_attainment"] == "province_code,term,period,indicator_code"
    assert keys["emulation_ranking"] == "year,province_code"
    assert keys["poverty_support_outcomes"] == "province_code,period"
    assert keys["submission_status"] == "province_code,period"
    assert ("term_scorecard", "met_pct", 5, 2) in numerics
    assert ("poverty_support_outcomes", "charity_homes_vnd", 20, 2) in numerics
    assert all(precision for _, _, precision, _ in numerics), numerics
    assert [row[0] for row in provinces] == ["52@2024", "52@2025"]


@pytest.mark.slow
@pytest.mark.xdist_group("airflow_dag_tests")  # its dag.test() process; tcp_homes: see there
def test_the_bi_password_never_reaches_the_server_log(airflow_dag_tests, tcp_homes):
    """With log_statement = 'all', `lhpn run`, `lhpn bi-url`, `lhpn bi-role` and a DAG run
    leave no password in the server log: it is set once, as a SCRAM verifier, and set again
    only when it changes."""
    made = tcp_homes.fresh()  # a data home of its own, its server listening on TCP
    data_home, env = made.root, made.env
    bi = lhpn("bi-url", env=env)
    assert bi.returncode == 0, bi.stderr
    admin = lhpn("warehouse-url", env=env).stdout.strip()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("alter system set log_statement = 'all'")
        conn.execute("select pg_reload_conf()")
    log = data_home / "pgdata" / "log"
    logged_from = log.stat().st_size
    for args in (("run",), ("bi-url",), ("bi-role", "60"), ("bi-url",)):
        result = lhpn(*args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
    _dag_run(made, airflow_dag_tests)
    password = (data_home / "bi_reader.password").read_text().strip()
    province_password = (data_home / "bi_province_60.password").read_text().strip()
    text = log.read_bytes()[logged_from:].decode("utf-8", "replace")
    assert "statement: select" in text.lower(), "log_statement = 'all' did not log"
    assert password not in text and province_password not in text
    # set once: bi_reader's password was not set again by any of these commands
    assert "alter role \"bi_reader\" password" not in text.lower()
    assert text.lower().count("alter role \"bi_province_60\" password 'scram-sha-256$") == 1

    # a new password is set (as a verifier) and works; the old one no longer does
    (data_home / "bi_reader.password").unlink()
    new_url = lhpn("bi-url", env=env).stdout.strip()
    new_password = (data_home / "bi_reader.password").read_text().strip()
    assert new_password != password
    text = log.read_bytes()[logged_from:].decode("utf-8", "replace")
    assert new_password not in text
    assert "alter role \"bi_reader\" password 'scram-sha-256$" in text.lower()
    with psycopg.connect(new_url) as conn:
        assert conn.execute("select current_user").fetchone() == ("bi_reader",)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(new_url.replace(new_password, password))

    # the server's log settings as they were: the home is left as `lhpn run` made it, with the
    # samples processed, for a test that needs no more (tests/test_superset.py)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("alter system reset log_statement")
        conn.execute("select pg_reload_conf()")
    tcp_homes.keep(made)


def _dag_run(made, airflow_dag_tests) -> None:
    """`dag.test()` of lhpn_warehouse on the data home `made`, in the process that runs the
    dag.test() of this test process (`airflow_dag_tests`), with that home's LHPN_HOME and
    LHPN_PG_PORT set for the run. Airflow's metadata database is that process's, on the session's
    server: the log under watch is the data home's."""
    from tests.airflow_support import results

    log = Path(airflow_dag_tests.env["AIRFLOW_HOME"]) / "dag_test_bi_password.log"
    output = airflow_dag_tests.run(["lhpn_warehouse"], log, {
        name: made.env[name] for name in ("LHPN_HOME", "LHPN_PG_PORT")})
    [result] = results(output)
    assert result["state"] == "success", (result, output[-3000:])
