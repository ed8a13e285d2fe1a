"""
### lhpn_ingest — load the report files the provinces drop into the inbox

Started two ways: by the **inbox watcher** (asset `lhpn_inbox`, a trigger in the triggerer that
notices a new settled file within seconds) and by a **cron safety net** every 6 hours, for the
times the triggerer is down or a file was missed (rare on purpose: each of its runs is usually
empty, and empty runs every few minutes would push the real ones out of the grid).

1. `list_inbox` — the files waiting in the inbox, cut into batches
   (`ingest.airflow.batches.inbox_batches`): one or two files get a batch each, more are cut into
   two batches of neighbouring files (at most 500 files each). Waiting for a young file to
   settle is `process_files`' job, as in `lhpn run`.
2. `process_batch` — one mapped task per batch, one `ingest.pipeline.process_files` call each,
   the batch design of `lhpn run` (Great Expectations once, one history query, COPY, parallel
   parsing). Its label shows the file with its outcome (`37/BC_37_nam_2024.xlsx: rejected`),
   or the batch's counts (`8 files: 6 accepted, 2 rejected`); its log starts with each file's
   verdict and errors or warnings (sheet, row, column, value).
   Rejections are data, not failures: the task fails only when the system does (database
   down, disk full) and is retried; the files it did not finish stay in the inbox.
3. `publish_raw_submissions` — emits the `lhpn_raw_submissions` asset event, which schedules
   `lhpn_warehouse` (marts, status, pages, receipts), whenever the run processed a file, even
   a rejected one or a duplicate; skipped, so no event, when there was nothing to do. It reads
   what happened from `audit.runs`, so files a failed batch did load still reach the marts.
4. `log_run_summary` — the run's files by outcome, once the event is out; it also makes the run
   fail when a batch failed.
5. `files_need_attention` — fails, so the run shows red in the grid and the runs list, when
   files were rejected, refused or failed; its error names each of them. The provinces already
   have their receipts; this is for the operator. With LHPN_NOTIFY_TO and LHPN_SMTP_HOST set,
   its failure is also mailed (`ingest.notify`). A run where every file was taken in stays green.

All logic lives in the `ingest` package; the command `lhpn run` runs the same code.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, dag, task

from ingest.airflow.assets import INBOX, RAW_SUBMISSIONS
from ingest.notify import FilesNeedAttentionNotifier
from ingest.settings import LOCAL_TIME_ZONE


def _listed(summaries) -> list[dict]:
    """The mapped tasks' results as a list, read by index: iterating the lazy XCom sequence
    probes one past its end, which logs a misleading "XCom not found" error in every run."""
    return [summaries[i] for i in range(len(summaries))]


@dag(
    dag_id="lhpn_ingest",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 */6 * * *", timezone=LOCAL_TIME_ZONE),
        assets=INBOX,
    ),
    start_date=pendulum.datetime(2025, 1, 1, tz=LOCAL_TIME_ZONE),
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
    def list_inbox() -> list[list[str]]:
        """The files waiting in the inbox, in batches (province folder, then name)."""
        from ingest.airflow.batches import inbox_batches

        return inbox_batches()

    @task(
        execution_timeout=timedelta(minutes=30),
        map_index_template="{{ batch_label }}",
        max_active_tis_per_dagrun=2,  # ingest.airflow.batches.CONCURRENT_BATCHES
        show_return_value_in_logs=False,  # the verdict lines say it; the dict is for XCom
    )
    def process_batch(paths: list[str]) -> dict:
        """Archive, validate and load a batch of files (or quarantine them); one verdict each."""
        from airflow.sdk import get_current_context

        from ingest.airflow import batches

        context = get_current_context()
        context["batch_label"] = batches.batch_label(paths)
        ti = context["ti"]
        summary = batches.process_batch(
            paths, batches.pipeline_run_id(context["run_id"], ti.map_index, ti.try_number))
        context["batch_label"] = summary["label"]
        failure = batches.system_failure(summary)
        if failure:
            raise RuntimeError(failure)  # Airflow retries; the files are still in the inbox
        return summary

    @task(outlets=[RAW_SUBMISSIONS], trigger_rule=TriggerRule.ALL_DONE)
    def publish_raw_submissions() -> dict:
        """Emit the raw-submissions event when the run processed a file (totals in its extra)."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowSkipException

        from ingest.airflow.batches import airflow_run_totals

        context = get_current_context()
        totals = airflow_run_totals(context["run_id"])
        if not totals["processed"]:
            raise AirflowSkipException("no file processed: nothing to publish")
        context["outlet_events"][RAW_SUBMISSIONS].extra = totals
        return totals

    @task(trigger_rule=TriggerRule.NONE_FAILED, show_return_value_in_logs=False)
    def log_run_summary(inbox: list[list[str]], summaries: list[dict]) -> dict:
        """The run's files by outcome, for the log and XCom."""
        from ingest.airflow.batches import run_summary

        return run_summary(_listed(summaries), sum(len(batch) for batch in inbox))

    @task(retries=0, on_failure_callback=[FilesNeedAttentionNotifier()])
    def files_need_attention(summary: dict) -> None:
        """Fail (red in the grid and the runs list) when files were rejected, refused or failed,
        naming them: the run is otherwise green whatever the files held."""
        from airflow.sdk.exceptions import AirflowFailException

        from ingest.airflow.batches import attention_message

        message = attention_message(summary)
        if message:
            raise AirflowFailException(message)

    inbox = list_inbox()
    summaries = process_batch.expand(paths=inbox)
    # the summary waits for the event: on a busy machine two tasks at once slow both down
    summary = log_run_summary(inbox, summaries)
    summaries >> publish_raw_submissions() >> summary
    files_need_attention(summary)


lhpn_ingest()
