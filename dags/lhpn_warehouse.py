"""
### lhpn_warehouse — build the marts with dbt, then refresh the validation docs

Scheduled on the asset `lhpn_raw_submissions`, which `lhpn_ingest` publishes only when accepted
data changed. Trigger it by hand with `full_refresh` to rebuild every incremental model.

1. `build_marts` — one `dbt build` (seeds, models, tests) run in-process with dbtRunner by
   `ingest.marts.build_marts()`: one parse and dbt's own dependency-ordered threads, instead of
   one dbt invocation per model.
2. `dbt_node` — one mapped task per dbt node of that build (named after the model, seed or test
   in the grid), so each model's status is visible in the UI; it fails for a node that failed.
3. `refresh_validation_docs` — the HTML validation report (`ingest.docs`), run even when a model
   failed.
4. `publish_marts` — emits the `lhpn_marts` asset event when every node succeeded.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task

from ingest.assets import MARTS, RAW_SUBMISSIONS

FAILED_STATUSES = {"error", "fail", "runtime error"}


@dag(
    dag_id="lhpn_warehouse",
    schedule=RAW_SUBMISSIONS,
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    params={
        "full_refresh": Param(False, type="boolean", description="Rebuild incremental models"),
        "select": Param(None, type=["null", "string"], description="dbt selector, e.g. marts"),
    },
    default_args={
        "owner": "lhpn-data",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=10),
    },
    tags=["lhpn", "dbt", "marts"],
    doc_md=__doc__,
)
def lhpn_warehouse():
    @task(execution_timeout=timedelta(minutes=45))
    def build_marts(params: dict | None = None) -> list[dict]:
        """Run `dbt build`; return one small record per node (name, type, status, seconds)."""
        from ingest.marts import build_marts as dbt_build

        params = params or {}
        full_refresh = bool(params.get("full_refresh"))
        result = dbt_build(select=params.get("select"), full_refresh=full_refresh)
        return _node_records(result)

    @task(map_index_template="{{ dbt_node_name }}", retries=0)
    def dbt_node(node: dict) -> dict:
        """One dbt node's outcome; fails the task when dbt reported the node failed."""
        from airflow.sdk import get_current_context

        get_current_context()["dbt_node_name"] = f"{node['resource_type']}.{node['name']}"
        print(f"{node['resource_type']} {node['name']}: {node['status']} "
              f"in {node.get('seconds') or 0:.2f}s {node.get('message') or ''}")
        if str(node["status"]).lower() in FAILED_STATUSES:
            raise RuntimeError(f"dbt {node['resource_type']} {node['name']} {node['status']}: "
                               f"{node.get('message')}")
        return node

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=15))
    def refresh_validation_docs() -> str:
        """Rebuild the validation HTML docs in the data home; returns their path."""
        from ingest.docs import refresh_validation_docs as refresh

        return str(refresh())

    @task(outlets=[MARTS], retries=0)
    def publish_marts() -> None:
        """Emit the marts asset event for whatever reads the marts next."""

    nodes = build_marts()
    checked = dbt_node.expand(node=nodes)
    checked >> publish_marts()
    checked >> refresh_validation_docs()


def _node_records(result) -> list[dict]:
    """Per-node records from what `build_marts` returns (a dict with a list of node results)."""
    if isinstance(result, dict):
        nodes = result.get("nodes") or result.get("results") or []
    else:
        nodes = result or []
    records = []
    for node in nodes:
        unique_id = str(node.get("unique_id") or node.get("name") or "")
        resource_type = node.get("resource_type") or unique_id.split(".", 1)[0] or "node"
        records.append({
            "unique_id": unique_id,
            "name": node.get("name") or unique_id.rsplit(".", 1)[-1],
            "resource_type": resource_type,
            "status": str(node.get("status")),
            "seconds": node.get("execution_time") or node.get("seconds"),
            "message": node.get("message"),
        })
    return records


lhpn_warehouse()
