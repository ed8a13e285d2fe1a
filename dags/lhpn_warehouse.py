"""
### lhpn_warehouse — bring the marts, status, pages and receipts up to date after an ingest run

Scheduled on the asset `lhpn_raw_submissions`, which `lhpn_ingest` publishes whenever a run
processed a file (accepted, rejected or duplicate), **or** daily at 00:05 Vietnam time with no new
file: the status is judged against today (contract §7), so a report not sent turns from
`not_due` into `missing` the day after its due date even when nothing arrives. Trigger it by hand
with `full_refresh` to rebuild everything, or with a dbt `select` to build part of the project.

1. `dbt_build` — `ingest.marts.build.refresh_marts()`: one `dbt build` run in-process with
   dbtRunner (one parse, dbt's own dependency-ordered threads), of only what the ingest run made
   stale: for each raw table whose accepted files changed, the marts downstream of it in dbt's
   graph with their tests, plus the status marts (`submission_status`, `reporting_rounds`,
   `submission_versions`, `validation_findings`, `build_info`) whenever a file arrived
   (`periods` too when it named a new period); every model when the day or the dbt project
   changed; nothing when nothing changed. Its log starts with what was built and why. It fails
   by itself only when dbt failed without any node to blame (a compile error, the database
   down); a failed model or test is shown by 3.
2. `publish_marts` — emits the `lhpn_marts` asset event right away when something was built and
   every model and test passed; skipped (no event) otherwise.
3. `dbt_model` — one mapped task per model and seed of that build, named after it in the grid,
   carrying the results of the tests on it. It fails when the model or one of its tests failed,
   and is skipped when dbt skipped the model (an upstream failed).
4. `refresh_outputs` — receipts and every page, the validation results included
   (`ingest.publish.refresh_outputs`), beside `publish_marts` right after the build (a copied
   file's receipt quotes its figures a task hand-off sooner); it runs even when a model failed,
   since the pages and receipts report on the submissions too.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, TriggerRule, dag, task

from ingest.airflow.assets import MARTS, RAW_SUBMISSIONS
from ingest.settings import LOCAL_TIME_ZONE


@dag(
    dag_id="lhpn_warehouse",
    # new data, or just after midnight in Vietnam: the calendar moves without files
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("5 0 * * *", timezone=LOCAL_TIME_ZONE),
        assets=RAW_SUBMISSIONS,
    ),
    start_date=pendulum.datetime(2025, 1, 1, tz=LOCAL_TIME_ZONE),
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
        """Build what is stale; return one status record per model (the summary goes to XCom)."""
        from airflow.sdk import get_current_context

        from ingest.marts import build as marts

        params = params or {}
        try:
            summary = marts.refresh_marts(select=params.get("select") or None,
                                          full_refresh=bool(params.get("full_refresh")))
            nodes, error = summary.pop("nodes"), None
        except marts.MartsError as exc:
            summary, nodes, error = {}, exc.nodes, str(exc)
        models = marts.model_statuses(nodes)
        if error and not any(m["failed"] for m in models):
            raise marts.MartsError(error)  # nothing to show per model: fail (and retry) here
        if summary:
            print(f"dbt build, {summary['plan']} ({summary['reason']}): {summary['built']} in "
                  f"{summary['seconds']:.1f} s")
        print(f"dbt build: {summary or error}")
        get_current_context()["ti"].xcom_push(key="summary", value={**summary, "error": error})
        return models

    @task(map_index_template="{{ dbt_model }}", retries=0, max_active_tis_per_dagrun=4,
          trigger_rule=TriggerRule.NONE_FAILED)  # also when publish_marts skipped: show why
    def dbt_model(model: dict) -> dict:
        """One model (or seed) of the build with its tests; fails when any of them failed."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from ingest.marts.build import FAILED_STATUSES

        get_current_context()["dbt_model"] = model["name"]
        tests = ", ".join(f"{n} {s}" for s, n in sorted(model["tests"].items())) or "no tests"
        print(f"{model['resource_type']} {model['name']}: {model['status']} "
              f"in {model['seconds']:.2f}s; tests: {tests}")
        if model["failed"]:
            problems = [model["message"]] if model["status"] in FAILED_STATUSES else []
            problems += model["failed_tests"]
            raise RuntimeError(f"{model['name']} failed: " + "; ".join(p for p in problems if p))
        if model["status"] == "skipped":
            raise AirflowSkipException(f"dbt skipped {model['name']} (an upstream node failed)")
        return model

    @task(outlets=[MARTS], retries=0)
    def publish_marts(models: list[dict]) -> None:
        """Emit the marts asset event when something was built and all of it passed."""
        from airflow.sdk.exceptions import AirflowSkipException

        failed = [m["name"] for m in models if m["failed"] or m["status"] == "skipped"]
        if failed:
            raise AirflowSkipException(f"not published: {', '.join(failed)} failed or skipped")
        if not models:
            raise AirflowSkipException("nothing was built: the marts were already current")

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=15))
    def refresh_outputs() -> dict:
        """Receipts and pages, from what the warehouse holds now."""
        from ingest.publish import refresh_outputs as refresh

        # no run id: the pages reflect the latest pipeline run in the warehouse (audit.runs),
        # which is the last batch of the ingest run that scheduled this one
        return refresh()

    models = dbt_build()
    # the event and the receipts right after the build (what BI and the provinces wait for);
    # the per-model tasks after the event (on a busy machine, seven tasks starting together
    # slow the ones that matter)
    published = publish_marts(models)
    models >> refresh_outputs()
    published >> dbt_model.expand(model=models)


lhpn_warehouse()
