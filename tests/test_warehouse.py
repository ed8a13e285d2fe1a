"""Bootstrap of the warehouse: migrations, the bi_reader role, the CLI's URL commands."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from click.testing import CliRunner

from ingest import warehouse
from ingest.cli import main as cli


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
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
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
