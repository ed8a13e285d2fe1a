"""Running Airflow from the tests: the DAG folder, `dag.test()` in a subprocess, its results.

Airflow reads its configuration (AIRFLOW_HOME, the metadata database) once per process, so every
Airflow step runs in a subprocess with its own environment: the pytest process never imports
Airflow. The environment comes from the `airflow_env` fixture (tests/conftest.py): one Airflow
home per test process, a fresh metadata database per test.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
# The session's databases are throwaways: their commits need not wait for the disk. libpq reads
# PGOPTIONS in every process it is given to: Airflow's metadata sessions, the pipeline's, dbt's.
NO_COMMIT_WAIT = {"PGOPTIONS": "-c synchronous_commit=off"}

# Runs `dag.test()` for each DAG id given, in order, and reports each run as one JSON line.
# LHPN_TEST_FAIL_ONCE=<file name>: in the first run, processing that file fails as if the
# database went away (and is not retried), to check that the other files still get through.
# An argument `@pause` in place of a DAG id prints `=== PAUSE` and waits for a line on stdin
# (`run_in_steps`): a test checks what the runs so far did and changes the inbox, and the runs
# after it go on in the same process (Airflow, the pipeline and dbt imported once).
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
fail_once = os.environ.get("LHPN_TEST_FAIL_ONCE")
paused = 0

def failing_process_files(paths, **kwargs):
    if any(p.endswith(fail_once) for p in paths):
        raise RuntimeError("simulated system failure: the database went away")
    return real_process_files(paths, **kwargs)

for n, dag_id in enumerate(a for a in sys.argv[2:] if a != "@pause"):
    while sys.argv[2 + n + paused:3 + n + paused] == ["@pause"]:
        print("=== PAUSE", flush=True)
        sys.stdin.readline()
        paused += 1
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
"""


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


def run_in_steps(env: dict, args: list[str], log: Path, steps: list[Callable[[str], None]],
                 timeout: float = 600) -> subprocess.CompletedProcess:
    """`run` for a script that stops at `=== PAUSE` lines: at the n-th pause `steps[n]` is called
    with the output so far, then the script goes on. Its output goes to `log`, whatever happens;
    it must succeed."""
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    drain = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
    drain.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    stdout: list[str] = []
    try:
        pending = list(steps)
        for line in proc.stdout:
            stdout.append(line)
            if line.rstrip("\n") == "=== PAUSE":
                assert pending, f"{args[:3]} paused more often than there are steps"
                pending.pop(0)("".join(stdout))
                proc.stdin.write("go on\n")
                proc.stdin.flush()
        proc.wait()
        drain.join()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        drain.join(timeout=10)
        log.write_text("".join(stdout) + "\n--- stderr ---\n" + "".join(stderr), encoding="utf-8")
    assert proc.returncode == 0, f"{args[:3]} failed, see {log}:\n{''.join(stderr)[-4000:]}"
    assert not pending, f"{args[:3]} ended before its last {len(pending)} step(s)"
    return subprocess.CompletedProcess(args, proc.returncode, "".join(stdout), "".join(stderr))
