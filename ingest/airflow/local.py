"""`make airflow`: all of Airflow (api-server, scheduler, dag-processor, triggerer) on this machine.

Runs `airflow standalone` with everything in the data home: AIRFLOW_HOME is `<home>/airflow`,
the metadata database is `airflow` on the warehouse server (the embedded PostgreSQL unless
LHPN_WAREHOUSE_URL names one), the executor is `ingest.airflow.executor.WarmLocalExecutor`,
the DAGs are the repository's `dags/`, and examples are off.
For development only; production runs the services of docker-compose.yml. When Airflow stops
(Ctrl-C), the embedded PostgreSQL this command started is stopped too.

`airflow_env()` is the one place that knows these settings; the tests use it too.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from pathlib import Path

from ingest import warehouse
from ingest.settings import LOCAL_TIME_ZONE, PROJECT_ROOT, Home, home

DAGS_FOLDER = PROJECT_ROOT / "dags"
DEFAULT_PORT = 8080
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


def sqlalchemy_url(libpq_url: str) -> str:
    """The SQLAlchemy form of a libpq URL (psycopg2 driver, as Airflow's metadata DB uses)."""
    scheme, sep, rest = libpq_url.partition("://")
    if not sep or scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"Not a PostgreSQL URL: {libpq_url!r}")
    return f"postgresql+psycopg2://{rest}"


def _jwt_secret(airflow_home: Path) -> str:
    """A secret kept in AIRFLOW_HOME, so every component signs and checks task tokens alike."""
    path = airflow_home / "jwt_secret"
    if not path.exists():
        airflow_home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def airflow_env(
    data_home: Home | None = None,
    *,
    database: str = warehouse.AIRFLOW_DB,
    port: int = DEFAULT_PORT,
) -> dict[str, str]:
    """Environment variables that point Airflow at a data home (starts the embedded server).

    Only the variables to add are returned; merge them over os.environ to run Airflow.
    An AIRFLOW__DATABASE__SQL_ALCHEMY_CONN already in the environment is kept: on a server
    prepared by docker/postgres-init.sh the metadata database belongs to its own role.
    """
    data_home = data_home or home()
    airflow_home = data_home.airflow_home
    airflow_home.mkdir(parents=True, exist_ok=True)
    metadata_db = (os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
                   or sqlalchemy_url(warehouse.server_url(database)))
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # task-log timestamps in the clerks' clock, as receipts and pages print it (the UI's
        # own clock is each user's choice, in the user menu)
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": LOCAL_TIME_ZONE,
        # LocalExecutor with pandas, GX and dbt imported before its workers fork (see module)
        "AIRFLOW__CORE__EXECUTOR": "ingest.airflow.executor.WarmLocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",  # worker processes: plenty for two DAGs on a laptop
        # an idle scheduler looks again after 0.2 s instead of 1 s: each hand-off between the
        # tasks of a one-file run (watcher -> ingest -> event -> warehouse -> receipts) waits
        # for the next look; a few more metadata queries a second while idle
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        # a task's supervisor notices its process ended within 1 s instead of 5: when the task's
        # sockets close before its exit is seen, it waits out this interval (one heartbeat a
        # second per running task instead of one per 5 s)
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_home / PASSWORDS_FILE),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",  # development: not reachable from the network
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": _jwt_secret(airflow_home),
        "LHPN_HOME": str(data_home.root),
    }
    if os.environ.get("LHPN_INBOX"):
        env["LHPN_INBOX"] = str(data_home.inbox)
    return env


def write_passwords_file(path: Path) -> Path:
    """The simple auth manager's password file, from AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD.

    Used by the airflow-init service of docker-compose.yml, so the admin password is the one
    in .env instead of a generated one.
    """
    password = os.environ.get("AIRFLOW_ADMIN_PASSWORD")
    if not password:
        sys.exit("AIRFLOW_ADMIN_PASSWORD is not set.")
    user = os.environ.get("AIRFLOW_ADMIN_USER") or ADMIN_USER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({user: password}), encoding="utf-8")
    path.chmod(0o600)
    return path


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--write-passwords"] and len(argv) == 2:
        print(f"Wrote {write_passwords_file(Path(argv[1]))}")
        return
    if argv:
        sys.exit("usage: python -m ingest.airflow.local [--write-passwords FILE]")
    data_home = home().ensure()
    # the embedded server this command starts is stopped when Airflow stops; one that was
    # already running (for `lhpn`, a BI tool) or an external one is left alone
    embedded = not os.environ.get("LHPN_WAREHOUSE_URL")
    was_running = embedded and (data_home.pgdata / "postmaster.pid").exists()
    warehouse.warehouse_url()  # start and migrate the warehouse before Airflow needs it
    port = int(os.environ.get("LHPN_AIRFLOW_PORT") or DEFAULT_PORT)
    env = {**os.environ, **airflow_env(data_home, port=port)}
    # `airflow standalone` starts its components as `airflow ...`: use this venv's.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    airflow = shutil.which("airflow", path=env["PATH"])
    if airflow is None:
        sys.exit("airflow is not installed in this environment: run `make setup`.")
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    print(
        "\n".join([
            "LHPN Airflow (standalone, for development)",
            f"  UI:        http://localhost:{port}",
            f"  login:     {ADMIN_USER}, password in {passwords}",
            "             (generated on the first start and printed once in the log below)",
            f"  inbox:     {data_home.inbox}",
            f"  AIRFLOW_HOME: {env['AIRFLOW_HOME']}",
            "  Stop with Ctrl-C.",
            "",
        ]),
        flush=True,
    )
    sys.exit(run_until_stopped([airflow, "standalone"], env,
                               stop_warehouse=embedded and not was_running,
                               data_home=data_home))


def run_until_stopped(command: list[str], env: dict[str, str], *, stop_warehouse: bool,
                      data_home: Home) -> int:
    """Run Airflow until it ends or Ctrl-C / SIGTERM, then stop what this command started.
    Returns Airflow's exit status.

    `airflow standalone` stops its components (api-server, scheduler, triggerer, dag-processor)
    on Ctrl-C only: a SIGTERM ends it and leaves them running. So a SIGTERM (a service manager,
    `kill`) is passed on as Ctrl-C."""
    import signal
    import subprocess

    # Airflow must hear Ctrl-C even when this command was started with it ignored (a background
    # job of a shell, `nohup`): a child keeps a signal its parent ignores
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    process = subprocess.Popen(command, env=env)

    def forward(_signum, _frame):
        process.send_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:  # Ctrl-C reached Airflow too (same process group)
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if stop_warehouse and warehouse.stop_embedded(data_home):
            print(f"Đã dừng PostgreSQL nhúng / stopped the embedded PostgreSQL "
                  f"({data_home.pgdata}).", flush=True)


if __name__ == "__main__":
    main()
