"""The shipped Superset dashboard (docs/superset/lhpn_dashboard/) imports into a real Apache
Superset with Superset's own command and every chart returns data through Superset's API.

Superset lives in its own virtual environment (its pins clash with Airflow's): LHPN_SUPERSET
names its `superset` binary (default /opt/superset-venv/bin/superset); without one the test is
skipped, saying how to install it.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ingest import superset

SUPERSET = Path(os.environ.get("LHPN_SUPERSET") or "/opt/superset-venv/bin/superset")
LHPN = [sys.executable, "-m", "ingest.cli.main"]
STEPS = Path(__file__).with_name("superset_steps.py")  # run by Superset's own Python


def test_the_export_is_complete_and_masks_its_password():
    """Every chart's dataset, every dataset's database are in the export; no password."""
    files = {p.relative_to(superset.EXPORT).as_posix(): yaml.safe_load(p.read_text("utf-8"))
             for p in superset.EXPORT.rglob("*.yaml")}
    assert files["metadata.yaml"]["type"] == "Dashboard"
    datasets = {v["uuid"]: v for k, v in files.items() if k.startswith("datasets/")}
    charts = [v for k, v in files.items() if k.startswith("charts/")]
    [database] = [v for k, v in files.items() if k.startswith("databases/")]
    [dashboard] = [v for k, v in files.items() if k.startswith("dashboards/")]
    assert ":XXXXXXXXXX@" in database["sqlalchemy_uri"]
    assert all(d["database_uuid"] == database["uuid"] and d["schema"] == "marts"
               for d in datasets.values())
    assert {c["dataset_uuid"] for c in charts} <= set(datasets)
    placed = {v["meta"]["uuid"] for k, v in dashboard["position"].items() if k.startswith("CHART-")}
    assert placed == {c["uuid"] for c in charts} and len(charts) == 4


def _api(base: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _superset_python() -> str:
    """The interpreter of the `superset` script (its venv's Python, from its #! line)."""
    first = SUPERSET.read_bytes().split(b"\n", 1)[0].decode()
    if first.startswith("#!") and Path(first[2:].strip()).exists():
        return first[2:].strip()
    return str(SUPERSET.with_name("python"))


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """The lines `proc` writes on stdout, as they come (None at its end)."""
    said: queue.Queue = queue.Queue()

    def read():
        for line in proc.stdout:
            said.put(line.rstrip("\n"))
        said.put(None)

    threading.Thread(target=read, daemon=True).start()
    return said


def _expect(said: queue.Queue, word: str, work: Path, timeout: float = 600) -> str:
    """What follows `word` on the next line of tests/superset_steps.py's protocol that is not a
    step's time (printed); a failure is reported with the command's output and Superset's log."""
    deadline = time.monotonic() + timeout
    while True:
        line = said.get(timeout=max(deadline - time.monotonic(), 0.1))
        if line is not None and line.startswith("step "):
            _, seconds, command = line.split(" ", 2)
            print(f"\nsuperset {command}: {seconds}s", end="")
            continue
        if line is not None and line.split(" ", 1)[0] == word:
            return line.partition(" ")[2]
        rest = []
        while line is not None:
            rest.append(line)
            line = said.get(timeout=30)
        log = (work / "superset.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"Superset: expected {word!r}, got:\n" + "\n".join(rest) + "\n" + log)


@pytest.mark.slow
@pytest.mark.external
@pytest.mark.skipif(not SUPERSET.exists(), reason=(
    f"Apache Superset is not installed ({SUPERSET}): set LHPN_SUPERSET to the `superset` binary "
    "of a venv made with `pip install apache-superset==6.1.0 psycopg2-binary rich cachetools "
    "flask-caching==2.3.1`"))
@pytest.mark.xdist_group("airflow_dag_tests")  # with the password test: tests/tcp_homes.py
def test_the_dashboard_imports_into_superset_and_every_chart_has_data(tcp_homes):
    work = Path(tempfile.mkdtemp(prefix="lhpn-superset-"))
    config = work / "superset_config.py"
    config.write_text(
        f"SECRET_KEY = 'lhpn-test-{os.getpid()}-not-a-production-secret-key'\n"
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{work / 'superset.db'}'\n"
        "WTF_CSRF_ENABLED = False\n"
        # Superset's own store is a throwaway here: no fsync per commit (its migrations and
        # `superset init` commit thousands of times; that is I/O wait, most of their time)
        "from sqlalchemy import event\n"
        "from sqlalchemy.engine import Engine\n"
        "@event.listens_for(Engine, 'connect')\n"
        "def _no_fsync(connection, _record):\n"
        "    if type(connection).__module__.startswith('sqlite3'):\n"
        "        connection.execute('pragma synchronous = off')\n", encoding="utf-8")
    superset_env = {**os.environ, "SUPERSET_CONFIG_PATH": str(config)}
    superset_proc = None

    def run(args, run_env, timeout=600):
        started = time.perf_counter()
        proc = subprocess.run(args, env=run_env, capture_output=True, text=True,
                              timeout=timeout, cwd=work)
        assert proc.returncode == 0, f"{args[:3]}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        print(f"\n{' '.join(Path(a).name for a in args[:4])}: {time.perf_counter() - started:.1f}s",
              end="")
        return proc.stdout.strip()

    def warehouse_and_bundle() -> str:
        # a data home after `lhpn run` of the samples, marts built, bi_reader over TCP: the one
        # tests/test_bi_access.py left so, else a fresh one where `lhpn run` runs now
        made = tcp_homes.with_samples(lambda env: run([*LHPN, "run"], env))
        return run([*LHPN, "superset-bundle", "-o", str(work / "lhpn_superset.zip")], made.env)

    try:
        # Superset's commands of the README in one Superset process (tests/superset_steps.py):
        # db upgrade, fab create-admin, init, then import-dashboards once the bundle is there,
        # then the app served as `superset run` serves it; the warehouse is prepared meanwhile
        with (work / "superset.log").open("w") as log:
            superset_proc = subprocess.Popen(
                [_superset_python(), str(STEPS)], env=superset_env, cwd=work, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True)
        said = _lines(superset_proc)
        with ThreadPoolExecutor(1) as pool:
            prepared = pool.submit(warehouse_and_bundle)
            _expect(said, "ready", work)
            bundle = prepared.result()
        superset_proc.stdin.write(bundle + "\n")
        superset_proc.stdin.flush()
        port = int(_expect(said, "serving", work))
        base = f"http://127.0.0.1:{port}"
        token = _api(base, "/api/v1/security/login", body={
            "username": "admin", "password": "admin", "provider": "db"})["access_token"]
        charts = _api(base, "/api/v1/chart/?q=(page_size:100)", token)["result"]
        assert len(charts) == 4
        rows = {}
        for chart in charts:
            detail = _api(base, f"/api/v1/chart/{chart['id']}", token)["result"]
            params = json.loads(detail["params"])
            query = json.loads(detail["query_context"])
            # the chart's dataset as imported here (the ids in an export are the exporter's)
            query["datasource"] = {"id": int(params["datasource"].split("__")[0]),
                                   "type": "table"}
            result = _api(base, "/api/v1/chart/data", token, query)["result"][0]
            rows[chart["slice_name"]] = result["data"]
        print("\n" + "\n".join(f"{name}: {len(data)} rows, first {data[:1]}"
                               for name, data in rows.items()))
        assert all(rows.values()), rows
        scorecards = rows["Chỉ tiêu nhiệm kỳ mới nhất / Latest term scorecard"]
        assert {"province_name": "Quảng Ngãi", "period": "2024", "scorecard_label": "7/8",
                "met_pct": 87.5} in scorecards
        by_year = rows["Hộ thoát nghèo theo năm / Households out of poverty per year"]
        years = [r["period_year"] for r in by_year]
        assert len(years) == len(set(years)), "one bar per year: annual reports only"
    finally:
        if superset_proc is not None:
            os.killpg(superset_proc.pid, signal.SIGTERM)
            superset_proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
