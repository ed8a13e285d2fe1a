"""The Celery configuration of the compose profile `celery`: Airflow's own, and a worker that
imports the tasks' heavy modules before it forks its pool.

A Celery worker's prefork pool children are forked from the worker's main process, and each task
is forked once more from a child (Airflow's task supervisor). `worker_init` runs in the main
process before the pool starts, so `ingest.airflow.executor.preload` there gives every task
pandas, Great Expectations and dbt already in memory, as `WarmLocalExecutor` does for the
LocalExecutor. Airflow reads the dictionary through
`AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=ingest.airflow.celery.CELERY_CONFIG`.
"""

from __future__ import annotations

import logging

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init

from ingest.airflow.executor import PRELOAD, preload

CELERY_CONFIG = dict(DEFAULT_CELERY_CONFIG)

log = logging.getLogger(__name__)


@worker_init.connect
def _preload_before_the_pool_forks(**_) -> None:
    seconds = preload()
    log.warning("Preloaded %s for the tasks in %.1f s", ", ".join(PRELOAD), seconds)
