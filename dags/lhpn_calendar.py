"""
### lhpn_calendar — the reporting calendar: today's status and the reminders of contract §9

Runs daily at 00:10 Vietnam time (after the `lhpn_warehouse` time leg at 00:05).

1. `refresh_status` — `ingest.marts.build.ensure_today()`: the marts judged against today
   (a build only when they were built on an earlier day or data changed since).
2. `due_rounds` — `ingest.outbox.reminders.due_rounds()`: the open rounds whose reminder stage
   (`T-14`, `T-3`, `T+1`) has begun, with the provinces that have nothing accepted, read from
   `marts.reporting_rounds` and `marts.submission_status`.
3. `remind` — one mapped task per round, `ingest.outbox.reminders.write_reminders(period)`:
   `outbox/<code>/nhac_nho_<period>_<stage>.txt` with the pre-filled template beside it, each
   rewritten only when its text changes, withdrawn once the report is accepted. Its label lists
   the provinces reminded (`2026 T-3: 01 04 08 …`).

When `LHPN_NOTIFY_TO` and `LHPN_SMTP_HOST` are set, writing the `T+1` notices also mails the
operators the late provinces, once per notice (contract §9; off by default).
All logic lives in the `ingest` package; `lhpn remind` runs the same code.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

from ingest.settings import LOCAL_TIME_ZONE  # the clerks' clock, decided once


@dag(
    dag_id="lhpn_calendar",
    schedule=CronTriggerTimetable("10 0 * * *", timezone=LOCAL_TIME_ZONE),
    start_date=pendulum.datetime(2025, 1, 1, tz=LOCAL_TIME_ZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    default_args={
        "owner": "lhpn-data",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=30),
    },
    tags=["lhpn", "calendar"],
    doc_md=__doc__,
)
def lhpn_calendar():
    @task
    def refresh_status() -> dict:
        """The marts judged against today (built when the day or the data changed)."""
        from ingest.marts.build import ensure_today

        summary = ensure_today()
        summary.pop("nodes", None)
        print(f"marts: {summary['plan']} ({summary['reason']})")
        return summary

    @task
    def due_rounds(_status: dict) -> list[dict]:
        """The open rounds with a reminder stage due today, and their provinces."""
        from ingest.outbox.reminders import due_rounds as rounds

        return rounds()

    @task(map_index_template="{{ reminded }}")
    def remind(round_: dict) -> dict:
        """Write one round's reminders; the label lists the provinces reminded."""
        from airflow.sdk import get_current_context

        from ingest.outbox import reminders

        context = get_current_context()
        context["reminded"] = f"{round_['period']} {round_['stage']}"
        done = reminders.write_reminders(round_["period"])
        context["reminded"] = reminders.label(done)
        print(f"{reminders.label(done)}: written {done['written']}, unchanged "
              f"{done['unchanged']}, withdrawn {done['withdrawn']}")
        return {k: v for k, v in done.items() if k != "notices"}

    remind.expand(round_=due_rounds(refresh_status()))


lhpn_calendar()
