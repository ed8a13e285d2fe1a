"""Airflow's LocalExecutor, with the pipeline's heavy imports done before its workers fork.

The LocalExecutor forks its worker processes from the scheduler when it starts, and each worker
forks once more for every task. A fresh task of `lhpn_ingest` or `lhpn_warehouse` would import
pandas, Great Expectations and dbt first: 5-10 s of every task, more than the work itself for a
small batch (issue 14). Importing them in `start()`, before the workers are forked, gives every
task those modules already in memory, shared copy-on-write.

Use it with `AIRFLOW__CORE__EXECUTOR=ingest.airflow.executor.WarmLocalExecutor` (`make airflow`
does). This module stays light: it is imported wherever Airflow resolves the executor's name.
"""

from __future__ import annotations

import importlib
import time

from airflow.executors.local_executor import LocalExecutor

# What the tasks of the two DAGs import, dbt's postgres adapter and build task included (dbt
# loads them on its first invocation: ~3 s of a one-file build); nothing here opens a connection
# or starts a thread.
PRELOAD = ("pandas", "great_expectations", "ingest.pipeline", "ingest.validate.run",
           "ingest.airflow.batches", "ingest.marts.build", "dbt.cli.main", "dbt.adapters.postgres",
           "dbt.task.build", "dbt.compilation", "dbt.parser.sql")


def preload() -> float:
    """Import the tasks' heavy modules into this process; return the seconds it took."""
    from ingest.airflow.batches import quiet_libraries
    from ingest.validate.suites import import_gx

    started = time.perf_counter()
    quiet_libraries()
    import_gx()  # first: Great Expectations as validation imports it (what it never uses deferred)
    for name in PRELOAD:
        importlib.import_module(name)
    return time.perf_counter() - started


class WarmLocalExecutor(LocalExecutor):
    """LocalExecutor whose workers (and so every task) start with `PRELOAD` imported."""

    def start(self) -> None:
        seconds = preload()
        self.log.info("Preloaded %s for the tasks in %.1f s", ", ".join(PRELOAD), seconds)
        super().start()
