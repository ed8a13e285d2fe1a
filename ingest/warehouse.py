"""Where the warehouse lives: an external PostgreSQL (LHPN_WAREHOUSE_URL) or the embedded one.

The embedded server is pgserver's PostgreSQL 16 with its data directory in the data home. It is
started on first use and left running, so repeated `lhpn` calls reuse it; pgserver holds an
inter-process lock while starting, so one data directory never gets two servers.
"""

from __future__ import annotations

import logging
import os
import warnings
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from ingest.settings import Home, home

WAREHOUSE_DB = "lhpn"
AIRFLOW_DB = "airflow"
BI_ROLE = "bi_reader"

log = logging.getLogger(__name__)


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or prepared; the message says why, for a person."""


def _embedded_server_url(data_home: Home, database: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        data_home.root.mkdir(parents=True, exist_ok=True)
        data_home.pgdata.mkdir(parents=True, exist_ok=True)
        try:
            server = pgserver.get_server(data_home.pgdata, cleanup_mode=None)
        except Exception as exc:  # noqa: BLE001 - pgserver raises bare errors
            raise WarehouseError(
                f"Could not start the embedded PostgreSQL in {data_home.pgdata}: {exc}. "
                f"See {data_home.pgdata / 'log'}."
            ) from exc
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql://postgres@/{database}?host={socket_dir}"


def stop_embedded(data_home: Home | None = None, timeout: float = 30) -> bool:
    """Stop the embedded server of a data home (fast shutdown). True if one was running."""
    import signal
    import time

    pid_file = (data_home or home()).pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)
    except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return True


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [database]).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
            except psycopg.errors.DuplicateDatabase:
                pass  # created by a concurrent call


def server_url(database: str = WAREHOUSE_DB) -> str:
    """libpq URL of `database` on the warehouse server, starting the embedded one if needed."""
    external = os.environ.get("LHPN_WAREHOUSE_URL")
    if external:
        return external if database == WAREHOUSE_DB else _with_database(external, database)
    url = _embedded_server_url(home(), database)
    _ensure_database(_with_database(url, "postgres"), database)
    return url


def warehouse_url() -> str:
    """The warehouse URL, with the schema migrated: what `lhpn warehouse-url` prints."""
    url = server_url()
    migrate(url)
    return url


def bi_url() -> str:
    """URL of the read-only BI role; its password (external servers) is LHPN_BI_PASSWORD."""
    url = warehouse_url()
    parts = urlsplit(url)
    password = os.environ.get("LHPN_BI_PASSWORD", "")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    userinfo = BI_ROLE + (f":{password}" if password else "")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"user", "password"}]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}", query=urlencode(query, safe="/")))


def _migration_files() -> list[tuple[str, str]]:
    folder = resources.files("ingest") / "sql" / "migrations"
    files = sorted((p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir()
                   if p.name.endswith(".sql"))
    return files


@lru_cache
def query(name: str) -> str:
    """The text of `ingest/sql/queries/<name>.sql`: SQL lives in .sql files."""
    return (resources.files("ingest") / "sql" / "queries" / f"{name}.sql").read_text("utf-8")


def migrate(url: str) -> list[str]:
    """Apply the versioned SQL migrations not yet applied. Safe to call from many processes."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('lhpn.migrate'))")
        try:
            conn.execute("create schema if not exists audit")
            conn.execute(
                "create table if not exists audit.schema_migrations ("
                " version text primary key, applied_at timestamptz not null default now())"
            )
            done = {r[0] for r in conn.execute("select version from audit.schema_migrations")}
            for name, text in _migration_files():
                if name in done:
                    continue
                with conn.transaction():
                    conn.execute(text)
                    conn.execute("insert into audit.schema_migrations(version) values (%s)", [name])
                applied.append(name)
            password = os.environ.get("LHPN_BI_PASSWORD")
            if password:
                conn.execute(sql.SQL("alter role {} password {}").format(
                    sql.Identifier(BI_ROLE), sql.Literal(password)))
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('lhpn.migrate'))")
    return applied
