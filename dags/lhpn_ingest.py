"""
### lhpn_ingest — load the report files the provinces drop into the inbox

Started two ways: by the **inbox watcher** (asset `lhpn_inbox`, a trigger in the triggerer that
notices a new settled file within seconds) and by a **cron safety net** every 5 minutes, for the
times the triggerer is down or a file was missed.

1. `list_inbox` — the settled files waiting in the inbox (`ingest.pipeline.list_inbox`).
2. `process_file` — one mapped task per file (`ingest.pipeline.process_files([path])`): archive,
   validate, load in its own transaction, or quarantine with an `.errors.txt` report. A bad
   province file is quarantined alone; the others load. Rejections are data, not failures: a task
   fails only when the system does (database down, disk full), and is retried.
3. `accepted_data_changed` — short-circuits unless some file changed accepted data.
4. `publish_raw_submissions` — emits the `lhpn_raw_submissions` asset event, which schedules
   `lhpn_warehouse` (the dbt marts). Skipped, so no event, when nothing changed.
5. `log_run_summary` — totals of the run in the log; it also makes the run fail when a file
   task failed, while the files that did load still reach the marts through step 4.

All logic lives in the `ingest` package; the command `lhpn run` runs the same code.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, dag, task

from ingest.assets import INBOX, RAW_SUBMISSIONS

SUMMARY_COUNTS = ("files", "accepted", "rejected", "duplicates", "deferred")


def _listed(summaries) -> list[dict]:
    """The mapped tasks' results as a list, read by index: iterating the lazy XCom sequence
    probes one past its end, which logs a misleading "XCom not found" error in every run."""
    return [summaries[i] for i in range(len(summaries))]


def _totals(summaries: list[dict]) -> dict[str, int]:
    """Add up the per-file summaries (a count may be given as a number or as a list of files)."""

    def count(value) -> int:
        return len(value) if isinstance(value, list | tuple) else int(value or 0)

    return {key: sum(count(s.get(key)) for s in summaries) for key in SUMMARY_COUNTS}


@dag(
    dag_id="lhpn_ingest",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/5 * * * *", timezone="Asia/Ho_Chi_Minh"),
        assets=INBOX,
    ),
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args={
        "owner": "lhpn-data",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "execution_timeout": timedelta(minutes=10),
    },
    tags=["lhpn", "ingest"],
    doc_md=__doc__,
)
def lhpn_ingest():
    @task(execution_timeout=timedelta(minutes=2))
    def list_inbox() -> list[str]:
        """The files waiting in the inbox, in path order (province folder, then name)."""
        from ingest.pipeline import list_inbox as ready_files

        return ready_files()

    @task(
        execution_timeout=timedelta(minutes=30),
        map_index_template="{{ inbox_file }}",
        max_active_tis_per_dagrun=2,
    )
    def process_file(path: str) -> dict:
        """Archive, validate and load one file (or quarantine it); returns the run summary."""
        from pathlib import Path

        from airflow.sdk import get_current_context

        from ingest.pipeline import process_files

        context = get_current_context()
        parts = Path(path).parts
        context["inbox_file"] = "/".join(parts[-2:])  # <province_code>/<file> in the grid
        ti = context["ti"]
        # audit.runs needs a fresh id per attempt: a retry is a new pipeline run
        run_id = f"{context['run_id']}:{ti.map_index}:{ti.try_number}"
        summary = process_files([path], run_id=run_id, trigger="airflow").as_dict()
        if summary["failed"]:
            # the system failed (not the file): fail the task so Airflow retries it; the file
            # is still in the inbox
            raise RuntimeError(f"{path}: " + "; ".join(
                str(r.get("message")) for r in summary["results"] if r["event"] == "failed"))
        return summary

    @task.short_circuit(trigger_rule=TriggerRule.ALL_DONE)
    def accepted_data_changed(summaries: list[dict]) -> dict:
        """The run's totals when a file changed accepted data, else nothing (skip the publish).

        Runs even when another file's task failed: what did load still reaches the marts.
        """
        summaries = _listed(summaries)
        if not any(summary.get("changed") for summary in summaries):
            return {}
        return _totals(summaries)

    @task(outlets=[RAW_SUBMISSIONS])
    def publish_raw_submissions(totals: dict) -> None:
        """Emit the raw-submissions asset event (with the run's totals) that schedules the marts."""
        from airflow.sdk import get_current_context

        get_current_context()["outlet_events"][RAW_SUBMISSIONS].extra = totals

    @task
    def log_run_summary(paths: list[str], summaries: list[dict]) -> dict:
        """Totals of the run, for the log and XCom."""
        summaries = _listed(summaries)
        totals: dict = _totals(summaries)
        totals["changed"] = any(s.get("changed") for s in summaries)
        totals["seconds"] = {}
        for s in summaries:
            for step, seconds in (s.get("seconds") or {}).items():
                totals["seconds"][step] = round(totals["seconds"].get(step, 0) + seconds, 2)
        totals["inbox_files"] = len(paths)
        print(f"lhpn_ingest run: {totals}")
        return totals

    paths = list_inbox()
    summaries = process_file.expand(path=paths)
    publish_raw_submissions(accepted_data_changed(summaries))
    log_run_summary(paths, summaries)


lhpn_ingest()
