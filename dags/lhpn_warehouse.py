"""
### lhpn_warehouse — build the marts with dbt, then refresh the validation docs

Scheduled on the asset `lhpn_raw_submissions`, which `lhpn_ingest` publishes only when accepted
data changed. Trigger it by hand with `full_refresh` to rebuild everything, or with a dbt
`select` to build part of the project.

1. `dbt_build` — one `dbt build` (seeds, models, data and unit tests) run in-process with
   dbtRunner by `ingest.marts.build_marts()`: one parse and dbt's own dependency-ordered threads,
   not one dbt invocation per model. It fails by itself only when dbt failed without any node to
   blame (a compile error, the database down); a failed model or test is shown by step 2.
2. `dbt_model` — one mapped task per model and seed of that build, named after it in the grid,
   carrying the results of the tests on it. It fails when the model or one of its tests failed,
   and is skipped when dbt skipped the model (an upstream failed).
3. `refresh_validation_docs` — the HTML validation report of the data home
   (`ingest.pages.validation`), run even when a model failed, since it reports on the
   submissions, not on the marts.
4. `publish_marts` — emits the `lhpn_marts` asset event when every model and test passed.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task

from ingest.assets import MARTS, RAW_SUBMISSIONS

FAILED = {"error", "fail", "runtime error"}


@dag(
    dag_id="lhpn_warehouse",
    schedule=RAW_SUBMISSIONS,
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    params={
        "full_refresh": Param(False, type="boolean", description="dbt build --full-refresh"),
        "select": Param(None, type=["null", "string"], description="dbt selection, e.g. marts"),
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
    def dbt_build(params: dict | None = None) -> list[dict]:
        """Run `dbt build` once; return one status record per model (the summary goes to XCom)."""
        from airflow.sdk import get_current_context

        from ingest.marts import build as marts

        params = params or {}
        try:
            summary = marts.build_marts(select=params.get("select") or None,
                                        full_refresh=bool(params.get("full_refresh")))
            nodes, error = summary.pop("nodes"), None
        except marts.MartsError as exc:
            summary, nodes, error = {}, exc.nodes, str(exc)
        models = model_statuses(nodes, marts._target_path() / "manifest.json")
        if error and not any(m["failed"] for m in models):
            raise marts.MartsError(error)  # nothing to show per model: fail (and retry) here
        print(f"dbt build: {summary or error}")
        get_current_context()["ti"].xcom_push(key="summary", value={**summary, "error": error})
        return models

    @task(map_index_template="{{ dbt_model }}", retries=0, max_active_tis_per_dagrun=4)
    def dbt_model(model: dict) -> dict:
        """One model (or seed) of the build with its tests; fails when any of them failed."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        get_current_context()["dbt_model"] = model["name"]
        tests = ", ".join(f"{n} {s}" for s, n in sorted(model["tests"].items())) or "no tests"
        print(f"{model['resource_type']} {model['name']}: {model['status']} "
              f"in {model['seconds']:.2f}s; tests: {tests}")
        if model["failed"]:
            problems = [model["message"]] if model["status"] in FAILED else []
            problems += model["failed_tests"]
            raise RuntimeError(f"{model['name']} failed: " + "; ".join(p for p in problems if p))
        if model["status"] == "skipped":
            raise AirflowSkipException(f"dbt skipped {model['name']} (an upstream node failed)")
        return model

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=15))
    def refresh_validation_docs() -> str:
        """Rebuild the validation HTML docs in the data home; returns their path."""
        from ingest.pages.validation import refresh_validation_docs as refresh

        return str(refresh())

    @task(outlets=[MARTS], retries=0)
    def publish_marts() -> None:
        """Emit the marts asset event for whatever reads the marts next."""

    build = dbt_build()
    models = dbt_model.expand(model=build)
    models >> publish_marts()
    models >> refresh_validation_docs()


def model_statuses(nodes: list[dict], manifest_path) -> list[dict]:
    """Per model and seed of a dbt build, with the outcome of the tests on it.

    `nodes` are the per-node records of `ingest.marts.build_marts`; the manifest tells which
    models a test depends on (a test counts against each of them).
    """
    import json
    from pathlib import Path

    manifest_path = Path(manifest_path)
    manifest = (json.loads(manifest_path.read_text(encoding="utf-8"))
                if manifest_path.exists() else {})
    depends = {uid: node.get("depends_on", {}).get("nodes", [])
               for kind in ("nodes", "unit_tests") for uid, node in manifest.get(kind, {}).items()}

    models: dict[str, dict] = {}
    for node in nodes:
        if node["resource_type"] in {"model", "seed", "snapshot"}:
            status = str(node["status"]).lower()
            models[node["unique_id"]] = {
                "name": node["name"], "resource_type": node["resource_type"], "status": status,
                "seconds": node.get("execution_time") or 0.0, "message": node.get("message"),
                "tests": {}, "failed_tests": [], "failed": status in FAILED,
            }
    for node in nodes:
        if node["resource_type"] not in {"test", "unit_test"}:
            continue
        status = str(node["status"]).lower()
        for parent in (p for p in depends.get(node["unique_id"], []) if p in models):
            record = models[parent]
            record["tests"][status] = record["tests"].get(status, 0) + 1
            if status in FAILED:
                record["failed"] = True
                record["failed_tests"].append(f"{node['name']}: {node.get('message')}")
    order = {"seed": 0, "snapshot": 1, "model": 2}
    return sorted(models.values(), key=lambda m: (order[m["resource_type"]], m["name"]))


lhpn_warehouse()
