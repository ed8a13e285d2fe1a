"""Where the warehouse lives: an external PostgreSQL (LHPN_WAREHOUSE_URL) or the embedded one.

The embedded server is pgserver's PostgreSQL 16 with its data directory in the data home. It is
started on first use and left running, so repeated `lhpn` calls reuse it; pgserver holds an
inter-process lock while starting, so one data directory never gets two servers. It listens on
a Unix socket in the data home; with LHPN_PG_PORT set it also listens on 127.0.0.1:<port>, for
BI tools logging in as bi_reader with the password kept in the data home (contract §6).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import unicodedata
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from ingest.settings import Home, home

WAREHOUSE_DB = "lhpn"
AIRFLOW_DB = "airflow"
BI_ROLE = "bi_reader"
BI_PASSWORD_FILE = "bi_reader.password"
# The group of the per-province logins (`lhpn bi-role <code>`, contract §6): a member named
# bi_province_<code> reads only the marts' rows of that province (dbt macro province_row_security).
BI_PROVINCE_GROUP = "bi_province"
BI_PROVINCE_PREFIX = "bi_province_"
TCP_HOST = "127.0.0.1"
DEFAULT_PG_PORT = 5432

# pg_hba.conf of the embedded server once it listens on TCP: the Unix socket (reachable only by
# whoever can enter the data home) stays as pgserver set it; over TCP only the BI role may log
# in, to the warehouse database, with a scram-sha-256 password. Anything else is refused.
PG_HBA = f"""\
# Written by lhpn (ingest/warehouse.py) because LHPN_PG_PORT is set: edits here are overwritten.
# TYPE  DATABASE  USER       ADDRESS        METHOD
local   all       all                       trust
host    {WAREHOUSE_DB}      {BI_ROLE},+{BI_PROVINCE_GROUP}  {TCP_HOST}/32   scram-sha-256
"""

log = logging.getLogger(__name__)


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or prepared; the message says why, for a person."""


def pg_port() -> int | None:
    """LHPN_PG_PORT: the TCP port the embedded server also listens on (127.0.0.1), or None."""
    value = os.environ.get("LHPN_PG_PORT", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise WarehouseError(f"LHPN_PG_PORT must be a TCP port number (1-65535), not {value!r}.")
    return int(value)


def bi_password_file(data_home: Home | None = None) -> Path:
    """Where the embedded server's bi_reader password is kept (owner-only, contract §6)."""
    return (data_home or home()).root / BI_PASSWORD_FILE


def _generated_password(path: Path) -> str:
    """The password kept in `path`, generated on first use (mode 0600: the owner only)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:  # first use: nobody else can have read it yet
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(24) + "\n")
    password = path.read_text(encoding="utf-8").strip()
    if not password:
        raise WarehouseError(f"{path} is empty: delete it to have a new password generated.")
    return password


def _embedded_bi_password(data_home: Home) -> str:
    """The bi_reader password of the embedded server, generated on first use (mode 0600)."""
    return _generated_password(bi_password_file(data_home))


def _listen_on_tcp(server, port: int) -> None:
    """Restart the embedded server so it also listens on 127.0.0.1:<port> (once per port).

    pgserver starts PostgreSQL with `-h ""` on the command line, which no setting in
    postgresql.conf or postgresql.auto.conf can override, so the server is restarted with
    pg_ctl and TCP options; pgserver then finds it running and reuses it. pg_hba.conf is
    rewritten first: the socket stays as it was, TCP admits only the BI role, with scram.
    """
    from pgserver._commands import pg_ctl
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import PostmasterInfo

    pgdata: Path = server.pgdata
    with PostgresServer._lock:  # pgserver's own inter-process lock for starting servers
        info = PostmasterInfo.read_from_pgdata(pgdata)
        hba = pgdata / "pg_hba.conf"
        rules_changed = hba.read_text(encoding="utf-8") != PG_HBA
        if rules_changed:
            hba.write_text(PG_HBA, encoding="utf-8")
        running = info is not None and info.is_running()
        if running and info.port == port and info.hostname == TCP_HOST:
            if rules_changed:
                pg_ctl(["reload"], pgdata=pgdata, user=server.system_user, timeout=30)
            return
        socket_dir = info.socket_dir if info is not None and info.socket_dir else pgdata
        if running:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user,
                   timeout=60)
        try:
            pg_ctl(["-w", "-o", f'-h "{TCP_HOST}"', "-o", f"-p {port}", "-o", f"-k {socket_dir}",
                    "-l", str(pgdata / "log"), "start"],
                   pgdata=pgdata, user=server.system_user, timeout=60)
        except Exception as exc:  # noqa: BLE001 - pg_ctl fails with CalledProcessError
            raise WarehouseError(
                f"The embedded PostgreSQL could not listen on {TCP_HOST}:{port} "
                f"(LHPN_PG_PORT): is the port in use? See {pgdata / 'log'}."
            ) from exc


def _embedded_server_url(data_home: Home, database: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        try:
            import pgserver
            from pgserver.utils import PostmasterInfo
        except ImportError as exc:
            raise WarehouseError(
                "LHPN_WAREHOUSE_URL is not set and the embedded PostgreSQL (the `pgserver` "
                "package of the development requirements) is not installed: set "
                "LHPN_WAREHOUSE_URL to a PostgreSQL server (production), or run `make setup` "
                "(development)."
            ) from exc

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        data_home.root.mkdir(parents=True, exist_ok=True)
        data_home.pgdata.mkdir(parents=True, exist_ok=True)
        port = pg_port()
        try:
            server = pgserver.get_server(data_home.pgdata, cleanup_mode=None)
            if port is not None:
                _listen_on_tcp(server, port)
        except WarehouseError:
            raise
        except Exception as exc:  # noqa: BLE001 - pgserver raises bare errors
            raise WarehouseError(
                f"Could not start the embedded PostgreSQL in {data_home.pgdata}: {exc}. "
                f"See {data_home.pgdata / 'log'}."
            ) from exc
    # read afresh: pgserver caches what it saw at its first start in this process
    info = PostmasterInfo.read_from_pgdata(server.pgdata)
    url = f"postgresql://postgres@/{database}?host={info.socket_dir}"
    if info.port and info.port != DEFAULT_PG_PORT:  # the socket file is named after the port
        url += f"&port={info.port}"
    return url


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


def bi_password() -> str | None:
    """The password bi_reader logs in with, or None when it has none (socket only).

    LHPN_BI_PASSWORD when set (an external server: the operator chose it); else, for the
    embedded server listening on TCP (LHPN_PG_PORT), the one generated in the data home.
    """
    password = os.environ.get("LHPN_BI_PASSWORD")
    if password:
        return password
    if not os.environ.get("LHPN_WAREHOUSE_URL") and pg_port() is not None:
        return _embedded_bi_password(home())
    return None


def _role_url(role: str, password: str | None, url: str) -> str:
    """URL of a BI login: over TCP when the embedded server listens on LHPN_PG_PORT, else the
    warehouse URL with the role's name (and password) in place of the owner's."""
    port = None if os.environ.get("LHPN_WAREHOUSE_URL") else pg_port()
    if port is not None:
        secret = quote(password or "", safe="")
        return f"postgresql://{role}:{secret}@{TCP_HOST}:{port}/{WAREHOUSE_DB}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    userinfo = role + (f":{quote(password, safe='')}" if password else "")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"user", "password"}]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}", query=urlencode(query, safe="/")))


def bi_url() -> str:
    """URL of the read-only BI role: over TCP with its password when the embedded server
    listens on LHPN_PG_PORT, else the warehouse URL with bi_reader (and LHPN_BI_PASSWORD)."""
    url = warehouse_url()
    return _role_url(BI_ROLE, bi_password(), url)


def province_role_name(province_code: str) -> str:
    return f"{BI_PROVINCE_PREFIX}{province_code}"


def province_role_url(province_code: str) -> str:
    """Create (once) the login that reads only `province_code`'s rows of the marts and return
    its URL (`lhpn bi-role`, contract §6). The code is a GSO code of either map: a code of the
    2025 map sees its province's rows in every period, those of the provinces it was formed
    from included; a code that ended on 1 July 2025 sees that province's rows up to then.
    Its password is generated once into the data home (mode 0600) and set as for bi_reader."""
    from ingest import reference

    code = province_code.strip()
    if code not in reference.provinces_old() and code not in reference.provinces_new():
        raise ValueError(
            f"Mã tỉnh '{province_code}' không có trong danh sách tỉnh (63 tỉnh trước 1/7/2025 "
            f"hoặc 34 tỉnh từ 1/7/2025). / Province code '{province_code}' is neither one of "
            f"the 63 codes before 1 July 2025 nor one of the 34 after.")
    url = warehouse_url()
    role = province_role_name(code)
    password = _generated_password(home().root / f"{role}.password")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('lhpn.migrate'))")
        try:
            exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
            if not exists:
                conn.execute(sql.SQL("create role {} login in role {}").format(
                    sql.Identifier(role), sql.Identifier(BI_PROVINCE_GROUP)))
            _confine_bi_login(conn, role)
            _set_password(conn, role, password)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('lhpn.migrate'))")
    return _role_url(role, password, url)


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
            _confine_bi_logins(conn)
            password = bi_password()
            if password:
                _set_password(conn, BI_ROLE, password)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('lhpn.migrate'))")
    return applied


# --- BI logins: confined, and their passwords sent only as SCRAM verifiers (contract §6) ------

def _bi_role_settings() -> dict[str, str]:
    """Session settings every BI login gets (ALTER ROLE ... SET): a reader can neither run a
    query nor sit in an open transaction for longer than these, so it never holds a lock a
    marts build waits for beyond them; it cannot write anything either."""
    from ingest import settings

    return {
        "statement_timeout": settings.bi_statement_timeout(),
        "idle_in_transaction_session_timeout": settings.bi_idle_in_transaction_timeout(),
        "default_transaction_read_only": "on",
    }


def _confine_bi_login(conn: psycopg.Connection, role: str) -> None:
    """Give `role` the BI session settings, changing only what differs (no DDL otherwise)."""
    row = conn.execute(
        "select s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole"
        " where r.rolname = %s and s.setdatabase = 0", [role]).fetchone()
    current = dict(item.split("=", 1) for item in (row[0] if row else None) or [])
    for name, value in _bi_role_settings().items():
        if current.get(name) != value:
            conn.execute(sql.SQL("alter role {} set {} = {}").format(
                sql.Identifier(role), sql.Identifier(name), sql.Literal(value)))


def _confine_bi_logins(conn: psycopg.Connection) -> None:
    """bi_reader and every province login: session limits; and no other database to open.

    CONNECT is revoked from PUBLIC on every other database this role may change (the
    embedded server's `postgres`, `airflow`, the templates; on a server where it owns none of
    them, the operator does that once), so a BI login opens the warehouse databases only: each
    warehouse database grants its BI roles CONNECT by name.
    """
    # the province logins, by name: on PostgreSQL 16 the (non-superuser) role that created the
    # group is a member of it too, and must not be confined
    roles = [BI_ROLE, *(r[0] for r in conn.execute(
        "select r.rolname from pg_roles r join pg_auth_members m on m.member = r.oid"
        " join pg_roles g on g.oid = m.roleid where g.rolname = %s"
        " and starts_with(r.rolname, %s) and r.rolcanlogin order by 1",
        [BI_PROVINCE_GROUP, BI_PROVINCE_PREFIX]))]
    for role in roles:
        _confine_bi_login(conn, role)
    # the BI roles connect to this database by a grant of their own, so that another warehouse
    # database on the same server, revoking PUBLIC's CONNECT here, leaves them theirs
    for role in (BI_ROLE, BI_PROVINCE_GROUP):
        granted = conn.execute(
            "select exists (select 1 from pg_database as d, aclexplode(d.datacl) as acl"
            " where d.datname = current_database() and acl.privilege_type = 'CONNECT'"
            " and acl.grantee = (select oid from pg_roles where rolname = %s))", [role]
        ).fetchone()[0]
        if not granted:
            conn.execute(sql.SQL("grant connect on database {} to {}").format(
                sql.Identifier(conn.info.dbname), sql.Identifier(role)))
    open_to_public = conn.execute(query("databases_open_to_public")).fetchall()
    for (database,) in open_to_public:
        conn.execute(sql.SQL("revoke connect on database {} from public").format(
            sql.Identifier(database)))


_SCRAM = re.compile(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)")


def _scram_matches(verifier: str, password: str) -> bool:
    """Whether `password` is the one a SCRAM-SHA-256 verifier was made from (RFC 5802:
    StoredKey = H(HMAC(PBKDF2(password, salt, i), "Client Key"))). The password is normalised
    as SASLprep does for the passwords lhpn generates (ASCII) and for most others; one it
    normalises differently is merely set again."""
    match = _SCRAM.fullmatch(verifier)
    if not match:
        return False
    iterations, salt, stored_key = match.group(1), match.group(2), match.group(3)
    salted = hashlib.pbkdf2_hmac("sha256", unicodedata.normalize("NFKC", password).encode(),
                                 base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored_key))


def _set_password(conn: psycopg.Connection, role: str, password: str) -> bool:
    """Set `role`'s password only when it changed, as a SCRAM verifier computed here (libpq's
    PQencryptPasswordConn): the password itself never travels in a statement, so no server
    log (log_statement = 'ddl' or 'all') can hold it. True when it was set."""
    role_oid = conn.execute("select oid from pg_roles where rolname = %s", [role]).fetchone()[0]
    stored = conn.execute("select role_oid, verifier from audit.bi_credentials"
                          " where role_name = %s", [role]).fetchone()
    if stored and stored[0] == role_oid and _scram_matches(stored[1], password):
        return False
    verifier = conn.pgconn.encrypt_password(
        password.encode(), role.encode(), b"scram-sha-256").decode()
    with conn.transaction():
        conn.execute(sql.SQL("alter role {} password {}").format(
            sql.Identifier(role), sql.Literal(verifier)))
        conn.execute(
            "insert into audit.bi_credentials (role_name, role_oid, verifier) values (%s, %s, %s)"
            " on conflict (role_name) do update set role_oid = excluded.role_oid,"
            " verifier = excluded.verifier, set_at = now()", [role, role_oid, verifier])
    return True
