"""Running Airflow from the tests: the DAG folder, `dag.test()` in a subprocess, its results.

Airflow reads its configuration (AIRFLOW_HOME, the metadata database) once per process, so every
Airflow step runs in a subprocess with its own environment: the pytest process never imports
Airflow. The environment comes from the `airflow_env` fixture (tests/conftest.py): one Airflow
home per test process, a fresh metadata database per test. The `dag.test()` runs of the tests on
the session's data home go to one process per test process (`DagTests`, the
`airflow_dag_tests` fixture), on a metadata database of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
# The session's databases are throwaways: their commits need not wait for the disk. libpq reads
# PGOPTIONS in every process it is given to: Airflow's metadata sessions, the pipeline's, dbt's.
NO_COMMIT_WAIT = {"PGOPTIONS": "-c synchronous_commit=off"}

# Runs `dag.test()` on request: one JSON line on stdin per request, {"dag_ids": [...], "env":
# {...}}, each DAG id run in order and reported as one `RESULT {json}` line, then `=== DONE`
# and the modules a test cares about (`=== DONE {"great_expectations": false}`); or
# {"script": "<python code>", "env": {...}}: the code is run in the process. The request's
# env is set for its runs and put back after. LHPN_TEST_FAIL_ONCE=<file name> in it: in the
# request's first run, processing that file fails as if the database went away (and is not
# retried), to check that the other files still get through. Airflow, the pipeline and dbt are
# imported, and Airflow's in-process execution API built (5 s of CPU), once per process.
DAG_TEST_SCRIPT = """
import json, os, sys, time
import ingest.pipeline
from airflow.dag_processing.dagbag import DagBag
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from sqlalchemy import select

bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
real_process_files = ingest.pipeline.process_files

def done():
    print("=== DONE " + json.dumps({"great_expectations": "great_expectations" in sys.modules}),
          flush=True)

def run(dag_ids, fail_once):
    def failing_process_files(paths, **kwargs):
        if any(p.endswith(fail_once) for p in paths):
            raise RuntimeError("simulated system failure: the database went away")
        return real_process_files(paths, **kwargs)

    for n, dag_id in enumerate(dag_ids):
        dag = bag.get_dag(dag_id)
        if fail_once and n == 0:
            ingest.pipeline.process_files = failing_process_files
            dag.get_task("process_batch").retries = 0
        else:
            ingest.pipeline.process_files = real_process_files
            if dag_id == "lhpn_ingest":
                dag.get_task("process_batch").retries = 2
        started = time.perf_counter()
        print(f"=== DAG RUN {n} {dag_id}", flush=True)
        run = dag.test()
        seconds = time.perf_counter() - started
        with create_session() as session:
            tis = session.scalars(select(TaskInstance).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)).all()
            states = {f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id:
                      str(ti.state.value if hasattr(ti.state, "value") else ti.state) for ti in tis}
            names = {f"{ti.task_id}[{ti.map_index}]": ti.rendered_map_index
                     for ti in tis if ti.map_index >= 0}
        state = run.state.value if hasattr(run.state, "value") else str(run.state)
        print("RESULT " + json.dumps({"dag_id": dag_id, "run_id": run.run_id, "state": state,
                                       "seconds": seconds, "tasks": states, "map_names": names}),
              flush=True)

done()
for line in sys.stdin:
    request = json.loads(line)
    before = {name: os.environ.get(name) for name in request["env"]}
    os.environ.update(request["env"])
    try:
        if "script" in request:
            exec(compile(request["script"], "<request>", "exec"), {"__name__": "__request__"})
        else:
            run(request["dag_ids"], request["env"].get("LHPN_TEST_FAIL_ONCE"))
    finally:
        ingest.pipeline.process_files = real_process_files
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    done()
"""


class DagTests:
    """A process that runs `DAG_TEST_SCRIPT`: `run` sends it a request and returns what the
    runs printed. Tests on one metadata database and one data home share it (the
    `airflow_dag_tests` fixture), so each `dag.test()` after the first costs its own work
    only. It is started again when it died (a failed request) or when a test needs Great
    Expectations not yet imported in it."""

    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None
        self.modules: dict = {}
        self.stderr: list[str] = []

    def _start(self) -> None:
        self.stop()
        self.stderr = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DAG_TEST_SCRIPT, str(DAGS)], env=self.env, cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=_drain, args=(self.proc.stderr, self.stderr), daemon=True).start()
        self._read(self.log, 600)

    def _read(self, log: Path, timeout: float) -> str:
        """The output up to the next `=== DONE` line; written to `log` with the stderr of the
        same time. The process must get there within `timeout` seconds."""
        proc, stdout, seen = self.proc, [], len(self.stderr)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                if line.startswith("=== DONE "):
                    self.modules = json.loads(line[len("=== DONE "):])
                    break
                stdout.append(line)
            else:
                proc.wait()
        finally:
            timer.cancel()
            with log.open("a", encoding="utf-8") as file:
                file.write("".join(stdout) + "\n--- stderr ---\n" + "".join(self.stderr[seen:]))
        assert proc.poll() is None, (
            f"the dag.test() process ended with {proc.returncode}, see {log}:\n"
            f"{''.join(self.stderr)[-4000:]}")
        return "".join(stdout)

    def run(self, dag_ids: list[str], log: Path, env: dict | None = None,
            fresh_great_expectations: bool = False, timeout: float = 600) -> str:
        """`dag.test()` of each DAG id, in order, with `env` set on top of the process's; what
        they printed (`results` reads it). `fresh_great_expectations`: Great Expectations is
        not imported yet when the runs start (its first import is what the test checks)."""
        return self._request({"dag_ids": dag_ids, "env": env or {}}, log, timeout,
                             fresh_great_expectations)

    def run_script(self, script: str, log: Path, env: dict | None = None,
                   timeout: float = 600) -> str:
        """Run the Python code `script` in the process (Airflow imported), with `env` set on top
        of the process's; what it printed."""
        return self._request({"script": script, "env": env or {}}, log, timeout)

    def _request(self, request: dict, log: Path, timeout: float,
                 fresh_great_expectations: bool = False) -> str:
        if (self.proc is None or self.proc.poll() is not None
                or (fresh_great_expectations and self.modules.get("great_expectations"))):
            self._start()
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read(log, timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # the end of the requests: the script ends
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _drain(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def results(stdout: str) -> list[dict]:
    """The `RESULT {json}` lines a script printed, decoded."""
    return [json.loads(line[len("RESULT "):]) for line in stdout.splitlines()
            if line.startswith("RESULT ")]


def run(env: dict, args: list[str], log: Path, timeout: float = 600):
    """Run `args` in the project root with `env`; its output goes to `log`; it must succeed."""
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr, encoding="utf-8")
    assert proc.returncode == 0, f"{args[:3]} failed, see {log}:\n{proc.stderr[-4000:]}"
    return proc
