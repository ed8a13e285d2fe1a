"""Bootstrap of the warehouse: migrations, the bi_reader role, the CLI's URL commands."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from ingest import warehouse
from ingest.cli import main as cli

LHPN = str(Path(sys.executable).with_name("lhpn"))  # the installed console script


def test_migrations_are_idempotent(warehouse_url):
    assert warehouse.migrate(warehouse_url) == []  # already applied by the fixture
    with psycopg.connect(warehouse_url) as conn:
        versions = [r[0] for r in conn.execute("select version from audit.schema_migrations")]
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
    assert "001_schemas.sql" in versions
    assert {"raw", "audit", "marts", "staging", "intermediate"} <= schemas


def test_warehouse_url_command_prints_a_url_psql_can_open(warehouse_url):
    result = CliRunner().invoke(cli.main, ["warehouse-url"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url == warehouse_url
    out = subprocess.run(["psql", url, "-tAc", "select current_database()"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == warehouse.WAREHOUSE_DB


def test_bi_reader_sees_marts_only(warehouse_url):
    result = CliRunner().invoke(cli.main, ["bi-url"])
    assert result.exit_code == 0, result.output
    bi = result.output.strip()
    assert "bi_reader@" in bi
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        admin.execute("create table if not exists marts.bi_probe as select 1 as x")
    try:
        with psycopg.connect(bi, autocommit=True) as conn:
            assert conn.execute("select current_user").fetchone()[0] == "bi_reader"
            assert conn.execute("select x from marts.bi_probe").fetchone() == (1,)
            for relation in ("raw.submissions", "audit.ingest_log", "raw.poverty_support"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"select * from {relation}")
            with pytest.raises((psycopg.errors.InsufficientPrivilege,  # read-only sessions too
                                psycopg.errors.ReadOnlySqlTransaction)):
                conn.execute("create table marts.nope (x int)")
    finally:
        with psycopg.connect(warehouse_url, autocommit=True) as admin:
            admin.execute("drop table marts.bi_probe")


def test_embedded_server_is_reused_across_processes(lhpn_home, warehouse_url):
    """A second CLI process finds the running server instead of starting another one."""
    code = "from ingest import warehouse; print(warehouse.warehouse_url())"
    urls = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env=os.environ.copy()).stdout.strip() for _ in range(2)}
    assert urls == {warehouse_url}
    pids = subprocess.run(["pgrep", "-f", f"postgres -D {lhpn_home / 'pgdata'}"],
                          capture_output=True, text=True).stdout.split()
    assert len(pids) == 1


def test_unreachable_external_warehouse_is_a_clear_system_error(monkeypatch):
    monkeypatch.setenv("LHPN_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(cli.main, ["warehouse-url"])
    assert result.exit_code == cli.EXIT_SYSTEM
    assert "system error" in result.output
    assert "Traceback" not in result.output


def _lhpn(env: dict, *args: str) -> str:
    proc = subprocess.run([LHPN, *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip()


def test_bi_reader_over_tcp_with_lhpn_pg_port(monkeypatch):
    """LHPN_PG_PORT: the embedded server also listens on 127.0.0.1, bi_reader logs in there
    with the password kept in the data home, sees marts only; nobody gets in without it."""
    from ingest.settings import home
    from tests.postgres_cluster import free_port, psql

    port = free_port()
    # outside pytest's base temp, which another pytest session of this user may close (0700)
    # while the server, run as pgserver's user when we are root, still needs to reach it
    data_home = Path(tempfile.mkdtemp(prefix="lhpn-tcp-home-"))
    env = {**os.environ, "LHPN_HOME": str(data_home), "LHPN_PG_PORT": str(port)}
    env.pop("LHPN_BI_PASSWORD", None)
    try:
        bi = _lhpn(env, "bi-url")
        password_file = data_home / "bi_reader.password"
        password = password_file.read_text(encoding="utf-8").strip()
        assert bi == f"postgresql://bi_reader:{password}@127.0.0.1:{port}/lhpn"
        assert len(password) >= 24
        assert password_file.stat().st_mode & 0o777 == 0o600
        assert _lhpn(env, "bi-url") == bi, "the password is generated once"

        admin = _lhpn(env, "warehouse-url")
        assert "host=" in admin and f"port={port}" in admin  # the owner keeps the socket
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("create table marts.bi_probe as select 7 as x")

        # psql "$(lhpn bi-url)", as the README tells a user to try
        out = subprocess.run(
            [psql(), bi, "-tAc", "select current_user, inet_server_addr(), x from marts.bi_probe"],
            capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "bi_reader|127.0.0.1|7"
        denied = subprocess.run([psql(), bi, "-tAc", "select count(*) from audit.ingest_log"],
                                capture_output=True, text=True, timeout=30)
        assert denied.returncode != 0 and "permission denied for schema audit" in denied.stderr

        with psycopg.connect(bi, autocommit=True) as conn:
            assert conn.info.host == "127.0.0.1" and conn.info.port == port
            for relation in ("raw.submissions", "audit.runs", "raw.poverty_support"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"select * from {relation}")
        refused = [
            f"postgresql://bi_reader@127.0.0.1:{port}/lhpn",                 # no password
            f"postgresql://bi_reader:wrong@127.0.0.1:{port}/lhpn",           # wrong password
            f"postgresql://postgres@127.0.0.1:{port}/lhpn",                  # socket only
            f"postgresql://bi_reader:{password}@127.0.0.1:{port}/postgres",  # other databases
        ]
        for url in refused:
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(url, connect_timeout=10)

        # a port another program holds: one clear line, no traceback
        monkeypatch.setenv("LHPN_HOME", str(data_home))
        warehouse.stop_embedded(home())
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            busy = subprocess.run([LHPN, "bi-url"], env=env, capture_output=True, text=True,
                                  timeout=120)
        assert busy.returncode == cli.EXIT_SYSTEM, busy.stdout + busy.stderr
        assert f"could not listen on 127.0.0.1:{port} (LHPN_PG_PORT)" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        monkeypatch.setenv("LHPN_HOME", str(data_home))
        warehouse.stop_embedded(home())
        shutil.rmtree(data_home, ignore_errors=True)


def test_without_lhpn_pg_port_the_embedded_server_has_no_tcp(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("show listen_addresses").fetchone() == ("",)
    assert "host=" in warehouse_url and "127.0.0.1" not in warehouse_url


def test_a_malformed_lhpn_pg_port_is_a_clear_system_error(monkeypatch, warehouse_url):
    monkeypatch.setenv("LHPN_PG_PORT", "54x32")
    result = CliRunner().invoke(cli.main, ["bi-url"])
    assert result.exit_code == cli.EXIT_SYSTEM
    assert "LHPN_PG_PORT must be a TCP port number (1-65535), not '54x32'" in result.output
