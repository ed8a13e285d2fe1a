"""The Airflow DAGs: they parse, they stay light at parse time, and they work end to end.

Every Airflow step runs in a subprocess (tests/airflow_support.py) with the environment of the
`airflow_env` fixture: the Airflow home of this test process and a metadata database of the
test's own, copied from the one migrated once per process (tests/conftest.py). The `dag.test()`
runs go to the one process of `airflow_dag_tests`, on a metadata database it keeps.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.airflow_support import DAGS
from tests.airflow_support import results as _results
from tests.airflow_support import run as _run

pytestmark = pytest.mark.airflow

DAG_IDS = {"lhpn_ingest", "lhpn_warehouse", "lhpn_calendar"}
HEAVY_MODULES = ("pandas", "dbt", "great_expectations", "ingest.pipeline", "ingest.marts.build",
                 "psycopg", "openpyxl")

# Parses the DAG folder and reports what a test needs, as one JSON line.
PARSE_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
bag = DagBag(sys.argv[1])
t2 = time.perf_counter()
heavy = [m for m in sys.argv[2:] if m in sys.modules]
definitions = {}
if not bag.import_errors:
    ingest, marts = bag.get_dag("lhpn_ingest"), bag.get_dag("lhpn_warehouse")
    definitions = {
        "max_active_runs": [ingest.max_active_runs, marts.max_active_runs],
        "catchup": [ingest.catchup, marts.catchup],
        "ingest_timetable": type(ingest.timetable).__name__,
        "inbox_watchers": [w.name for w in ingest.timetable.asset_condition.watchers],
        "warehouse_schedule": marts.timetable.asset_condition.name,
        "warehouse_timetable": type(marts.timetable).__name__,
        "warehouse_cron": marts.timetable.timetable.expression,
        "calendar_cron": bag.get_dag("lhpn_calendar").timetable.expression,
        "outlets": [a.name for a in ingest.get_task("publish_raw_submissions").outlets],
        "retries": ingest.get_task("process_batch").retries,
        "timeout": ingest.get_task("process_batch").execution_timeout.total_seconds(),
        "doc": bool(ingest.doc_md and marts.doc_md),
        "tags": [sorted(ingest.tags), sorted(marts.tags)],
    }
print("RESULT " + json.dumps({"definitions": definitions,
    "import_errors": bag.import_errors, "dag_ids": sorted(bag.dags),
    "warnings": {k: list(v) for k, v in bag.captured_warnings.items()},
    "import_airflow_s": t1 - t0, "parse_s": t2 - t1, "heavy": heavy,
    "tasks": {d.dag_id: sorted(d.task_ids) for d in bag.dags.values()},
}))
"""

@pytest.fixture(scope="module")
def parsed(airflow_template) -> dict:
    proc = _run(airflow_template, [sys.executable, "-c", PARSE_SCRIPT, str(DAGS), *HEAVY_MODULES],
                Path(airflow_template["AIRFLOW_HOME"]) / "parse.log")
    [result] = _results(proc.stdout)
    return result


@pytest.mark.slow
def test_dagbag_parses_without_errors_or_heavy_imports(parsed):
    result = parsed
    print(f"\nimport airflow {result['import_airflow_s']:.2f}s, "
          f"DagBag parse {result['parse_s']:.3f}s")
    assert result["import_errors"] == {}
    assert set(result["dag_ids"]) == DAG_IDS
    assert result["heavy"] == [], f"imported at parse time: {result['heavy']}"
    assert result["parse_s"] < 5, "DAG files must parse fast"
    assert {"list_inbox", "process_batch", "publish_raw_submissions", "log_run_summary"} <= set(
        result["tasks"]["lhpn_ingest"])
    assert {"dbt_build", "dbt_model", "refresh_outputs", "publish_marts"} <= set(
        result["tasks"]["lhpn_warehouse"])


@pytest.mark.slow
def test_dag_definitions(parsed):
    """Scheduling facts the operators rely on, read from the parsed DAGs."""
    d = parsed["definitions"]
    assert d["max_active_runs"] == [1, 1]
    assert d["catchup"] == [False, False]
    assert d["ingest_timetable"] == "AssetOrTimeSchedule"
    assert d["inbox_watchers"] == ["lhpn_inbox_watcher"]
    assert d["warehouse_schedule"] == "lhpn_raw_submissions"
    # the marts follow the calendar without files: a time leg just after midnight in Vietnam
    assert d["warehouse_timetable"] == "AssetOrTimeSchedule"
    assert d["warehouse_cron"] == "5 0 * * *" and d["calendar_cron"] == "10 0 * * *"
    assert d["outlets"] == ["lhpn_raw_submissions"]
    assert d["retries"] >= 1 and d["timeout"] > 0 and d["doc"]
    assert "lhpn" in d["tags"][0] and "lhpn" in d["tags"][1]


def test_per_model_status_of_a_dbt_build(tmp_path):
    """A failed test marks its model failed; dbt's skipped models stay skipped, seeds first."""
    from ingest.marts.build import model_statuses

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {
        "test.lhpn.not_null_a_x": {"depends_on": {"nodes": ["model.lhpn.a"]}},
        "test.lhpn.rel_a_b": {"depends_on": {"nodes": ["model.lhpn.a", "seed.lhpn.s"]}}}}))

    def node(uid, status, message=None):
        kind, _, name = uid.split(".")
        return {"unique_id": uid, "name": name, "resource_type": kind, "status": status,
                "execution_time": 0.5, "message": message}

    statuses = model_statuses([
        node("seed.lhpn.s", "success"), node("model.lhpn.a", "success"),
        node("model.lhpn.b", "skipped"), node("test.lhpn.not_null_a_x", "fail", "Got 2 results"),
        node("test.lhpn.rel_a_b", "pass")], manifest)
    by_name = {m["name"]: m for m in statuses}
    assert [m["name"] for m in statuses] == ["s", "a", "b"]
    assert by_name["a"]["failed"] and by_name["a"]["tests"] == {"fail": 1, "pass": 1}
    assert by_name["a"]["failed_tests"] == ["not_null_a_x: Got 2 results"]
    assert not by_name["s"]["failed"] and by_name["s"]["tests"] == {"pass": 1}
    assert by_name["b"]["status"] == "skipped" and not by_name["b"]["failed"]


def test_batches_split_a_burst_and_keep_a_small_run_per_file():
    from ingest.airflow.batches import plan_batches

    files = [f"/inbox/{n:02d}/f.xlsx" for n in range(1, 1244)]
    assert plan_batches([]) == []
    assert plan_batches(files[:1]) == [files[:1]]
    assert plan_batches(files[:2]) == [files[:1], files[1:2]]
    assert [len(b) for b in plan_batches(files[:300])] == [150, 150]
    burst = plan_batches(files)
    assert [len(b) for b in burst] == [415, 415, 413]
    assert [f for b in burst for f in b] == files, "contiguous, in path order, nothing lost"


# Drives the inbox watcher's trigger against the inbox of LHPN_HOME and reports what it fired.
TRIGGER_SCRIPT = """
import asyncio, json, os, time
from pathlib import Path
from ingest.airflow import assets
from ingest.settings import home

async def first_events(trigger, n, timeout):
    events, gen = [], trigger.run()
    try:
        async with asyncio.timeout(timeout):
            async for event in gen:
                events.append(event.payload)
                if len(events) == n:
                    break
    except TimeoutError:
        pass
    finally:
        await gen.aclose()
    return events

inbox = home().ensure().inbox / "60"
inbox.mkdir(parents=True, exist_ok=True)
trigger = assets.InboxTrigger(poke_interval=0.05)
result = {"empty": asyncio.run(first_events(trigger, 1, 0.3))}
os.environ["LHPN_SETTLE_SECONDS"] = "60"
report = inbox / "a.xlsx"
report.write_bytes(b"x")
(inbox / "~$a.xlsx").write_bytes(b"lock")  # Excel's lock file is not a report
result["unsettled"] = asyncio.run(first_events(trigger, 1, 0.3))
two_minutes_ago = time.time() - 120
os.utime(report, (two_minutes_ago, two_minutes_ago))
result["settled"] = asyncio.run(first_events(trigger, 2, 0.5))
result["still_there"] = report.exists()
result["serialized"] = list(trigger.serialize())
print("RESULT " + json.dumps(result))
"""


@pytest.mark.slow
@pytest.mark.xdist_group("airflow_dag_tests")
def test_inbox_trigger_announces_each_new_file_once(airflow_dag_tests, tmp_path):
    """The asset watcher's trigger fires once per new settled file, and never touches it."""
    output = airflow_dag_tests.run_script(TRIGGER_SCRIPT, tmp_path / "trigger.log",
                                          {"LHPN_HOME": str(tmp_path), "LHPN_SETTLE_SECONDS": "0"})
    [result] = _results(output)
    assert result["empty"] == [] and result["unsettled"] == []
    assert len(result["settled"]) == 1 and result["settled"][0]["new_files"] == 1
    assert result["settled"][0]["files"][0].endswith("60/a.xlsx")
    assert result["still_there"]
    assert result["serialized"] == ["ingest.airflow.assets.InboxTrigger", {"poke_interval": 0.05}]


def _drop_mixed_inbox(inbox: Path) -> dict[str, Path]:
    """Three good province files and one that breaks a rule of the contract (§3)."""
    from ingest import samples
    from ingest.model import POVERTY

    rng = random.Random(7)
    good_xlsx = samples.write_xlsx(samples.random_report(rng, "51", "2024"),
                                   inbox / "51" / "BC_51_nam_2024.xlsx")
    good_csv = samples.write_csv(samples.random_report(rng, "60", "2025-6T", sheets=(POVERTY,)),
                                 inbox / "60" / "BC_60_6thang_2025.csv")
    unlucky = samples.write_xlsx(samples.random_report(rng, "49", "2024"),
                                 inbox / "49" / "BC_49_nam_2024.xlsx")
    bad = samples.random_report(rng, "37", "2024", sheets=(POVERTY,))
    row = bad.poverty_rows[1]
    row["households_out_of_poverty"] = row["poor_households_start"] + 40
    bad_xlsx = samples.write_xlsx(bad, inbox / "37" / "BC_37_nam_2024.xlsx")
    return {"good_xlsx": good_xlsx, "good_csv": good_csv, "unlucky": unlucky, "bad": bad_xlsx}


def _task_logs(output: str) -> dict[str, list[str]]:
    """The log lines of each task of a dag.test() run, by `<task_id>[<map_index>]` (dag.test runs
    the tasks one after another in its process and marks where each one starts)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if "[DAG TEST] starting task_id=" in line:
            task_id = line.split("task_id=")[1].split()[0]
            map_index = int(line.split("map_index=")[1].split()[0])
            current = task_id if map_index < 0 else f"{task_id}[{map_index}]"
            sections[current] = []
        elif current and "[DAG TEST]" not in line:
            sections[current].append(line)
    return sections


def _runs_output(output: str) -> list[str]:
    return output.split("=== DAG RUN ")[1:]


@pytest.mark.slow
@pytest.mark.xdist_group("airflow_dag_tests")
def test_file_drop_through_both_dags(home, db, airflow_dag_tests, warehouse_url):
    """dag.test() on a mixed inbox: the files go in batches; a batch's label and first log lines
    give each file's outcome and the rejected file's first error; a batch hit by a system failure
    fails alone and its files load on the next run; the asset event is emitted by every run that
    processed a file; the marts get built; a later run of rejections alone refreshes the status."""
    files = _drop_mixed_inbox(home.inbox)
    validation_page = home.site / "validation.html"
    metadata = airflow_dag_tests.env
    events_before = _last_event_id(metadata)  # of the tests before, on the same database
    log = Path(metadata["AIRFLOW_HOME"]) / "dag_test.log"
    started = time.perf_counter()

    def check_the_first_four_runs(output: str) -> None:
        wall = time.perf_counter() - started
        mixed, recovery, idle, build = _results(output)
        print(f"\nwall time of the drop through both DAGs (Airflow imported by the first test): "
              f"{wall:.1f}s; lhpn_ingest 4 files {mixed['seconds']:.1f}s, 2 files "
              f"{recovery['seconds']:.1f}s, empty {idle['seconds']:.1f}s; "
              f"lhpn_warehouse {build['seconds']:.1f}s")

        # 1st run: two batches of two files; each label gives every file's outcome, problems first;
        # a rejection is not a failure, a system failure fails its own batch only
        batches = {mixed["map_names"][k]: v for k, v in mixed["tasks"].items()
                   if k.startswith("process_batch[")}
        assert batches == {
            "2 files: 1 rejected, 1 accepted": "success",  # short: the grid's breadcrumb fits
            "2 files: 51/BC_51_nam_2024.xlsx … 60/BC_60_6thang_2025.csv": "failed"}
        assert mixed["tasks"]["publish_raw_submissions"] == "success"  # the others reach the marts
        assert mixed["tasks"]["log_run_summary"] == "upstream_failed"
        assert mixed["tasks"]["files_need_attention"] == "upstream_failed"
        assert all(len(name) <= 60 for name in mixed["map_names"].values())
        assert mixed["state"] == "failed", "a failed batch fails the run"

        # the batch's log starts with the verdicts and the rejected file's first error, placed;
        # Great Expectations' import chatter is not there
        log = _task_logs(_runs_output(output)[0])["process_batch[0]"]
        verdicts = [line for line in log if "REJECTED" in line or "ACCEPTED" in line
                    or "error:" in line]
        assert "REJECTED 37/BC_37_nam_2024.xlsx" in verdicts[0], log[:20]
        assert "ACCEPTED 49/BC_49_nam_2024.xlsx" in verdicts[-1], log[:20]
        first_error = verdicts[1]
        assert "error: sheet GiamNgheo, row" in first_error and 'column "' in first_error, log[:20]
        assert not any("Skipping registering" in line for line in log)
        assert len(log) < 60, "a batch of two files logs on one screen"

        # 2nd run picks up the files left in the inbox, one batch each; the 3rd finds nothing,
        # publishes nothing and still succeeds
        assert recovery["state"] == "success", recovery
        assert sorted(recovery["map_names"].values()) == [
            "51/BC_51_nam_2024.xlsx: accepted", "60/BC_60_6thang_2025.csv: accepted"]
        assert recovery["tasks"]["publish_raw_submissions"] == "success"
        assert recovery["tasks"]["files_need_attention"] == "success"  # all taken in: green
        assert idle["state"] == "success", idle
        assert idle["tasks"]["publish_raw_submissions"] == "skipped"
        assert idle["tasks"]["log_run_summary"] == "success"

        # the good files are loaded and archived, the bad one quarantined with its report
        rows = db.execute("select province_code, status from raw.submissions").fetchall()
        assert sorted(rows) == [("37", "rejected"), ("49", "accepted"), ("51", "accepted"),
                                ("60", "accepted")]
        assert not any(p.exists() for p in files.values()), "the inbox is left empty"
        quarantined = sorted(p.name for p in home.quarantine.rglob("*") if p.is_file())
        assert quarantined == ["BC_37_nam_2024.xlsx", "BC_37_nam_2024.xlsx.errors.txt"]

        # the asset event that schedules lhpn_warehouse: once per run that processed a file
        assert _raw_events(metadata, events_before) == [(1, 1), (2, 0)]

        # lhpn_warehouse: one dbt build, one mapped task per model, the marts filled
        assert build["state"] == "success", build
        assert build["tasks"]["dbt_build"] == "success"
        assert build["tasks"]["refresh_outputs"] == "success"
        assert build["tasks"]["publish_marts"] == "success"
        models = set(build["map_names"].values())
        assert {"term_indicator_attainment", "emulation_ranking", "poverty_support_outcomes",
                "submission_status", "term_scorecard"} <= models
        provinces = {r[0] for r in db.execute(
            "select distinct province_code from marts.term_indicator_attainment")}
        assert provinces == {"49", "51"}
        poverty = {r[0] for r in db.execute(
            "select distinct province_code from marts.poverty_support_outcomes")}
        assert poverty == {"49", "51", "60"}
        # refresh_outputs rebuilt the pages
        assert "BC_37_nam_2024.xlsx" in validation_page.read_text(encoding="utf-8")

        # a run of rejections alone: the event is still published, and the warehouse rebuilds only
        # the marts that read rejected files too, so the status shows the rejection
        assert _status(db, "22", "2024") == "missing"
        _drop_rejected(home.inbox, "22")

    # the four runs, the checks above and a file of rejections, then the two runs that file
    # starts, in the one dag.test() process; Great Expectations is first imported by a task of
    # the first run (its import chatter must stay out of the batch's log)
    check_the_first_four_runs(airflow_dag_tests.run(
        ["lhpn_ingest", "lhpn_ingest", "lhpn_ingest", "lhpn_warehouse"], log,
        {"LHPN_TEST_FAIL_ONCE": "BC_60_6thang_2025.csv"}, fresh_great_expectations=True))
    output = airflow_dag_tests.run(["lhpn_ingest", "lhpn_warehouse"], log)
    rejected_only, status_build = _results(output)
    assert list(rejected_only["map_names"].values()) == ["22/BC_22_nam_2024.xlsx: rejected"]
    # a run that rejected a file is told apart in the grid and the runs list: it is failed by
    # files_need_attention alone, whose error names the file (the system did its job)
    assert rejected_only["state"] == "failed", rejected_only
    assert rejected_only["tasks"]["files_need_attention"] == "failed"
    assert rejected_only["tasks"]["log_run_summary"] == "success"
    first_run = _runs_output(output)[0]
    assert "file(s) need attention" in first_run and "22/BC_22_nam_2024.xlsx: rejected" in (
        first_run.split("AirflowFailException")[-1])
    assert _raw_events(metadata, events_before)[-1] == (0, 1)
    assert status_build["state"] == "success", status_build
    assert set(status_build["map_names"].values()) == {
        "submission_status", "reporting_rounds", "submission_versions", "validation_findings",
        "build_info"}
    assert _status(db, "22", "2024") == "rejected"
    assert status_build["tasks"]["refresh_outputs"] == "success"
    assert "BC_22_nam_2024.xlsx" in validation_page.read_text(encoding="utf-8")


def _drop_rejected(inbox: Path, province: str) -> Path:
    from ingest import samples
    from ingest.model import POVERTY

    bad = samples.random_report(random.Random(11), province, "2024", sheets=(POVERTY,))
    row = bad.poverty_rows[0]
    row["households_out_of_poverty"] = row["poor_households_start"] + 5
    return samples.write_xlsx(bad, inbox / province / f"BC_{province}_nam_2024.xlsx")


def _status(db, province: str, period: str) -> str | None:
    row = db.execute("select status from marts.submission_status"
                     " where province_code = %s and period = %s", [province, period]).fetchone()
    return row[0] if row else None


def _raw_events(env: dict, after: int) -> list[tuple[int, int]]:
    """(accepted, rejected) of each lhpn_raw_submissions event after the event id `after`."""
    with psycopg.connect(_airflow_db_url(env)) as conn:
        events = conn.execute(
            "select e.extra from asset_event e join asset a on a.id = e.asset_id"
            " where a.name = 'lhpn_raw_submissions' and e.id > %s order by e.id",
            [after]).fetchall()
    return [(e[0]["accepted"], e[0]["rejected"]) for e in events]


def _last_event_id(env: dict) -> int:
    with psycopg.connect(_airflow_db_url(env)) as conn:
        return conn.execute("select coalesce(max(id), 0) from asset_event").fetchone()[0]


def _airflow_db_url(env: dict) -> str:
    return env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://",
                                                              "postgresql://")


@pytest.mark.slow
@pytest.mark.xdist_group("airflow_dag_tests")
def test_calendar_dag_reminds_the_provinces_with_nothing_accepted(home, db, airflow_dag_tests):
    """dag.test() of lhpn_calendar on 13 December 2026 (LHPN_TODAY): the status is judged for
    that day, and the one round with a stage due (2026, T-3) gets a mapped task whose label lists
    the 34 provinces reminded; each gets its notice."""
    output = airflow_dag_tests.run(
        ["lhpn_calendar"], Path(airflow_dag_tests.env["AIRFLOW_HOME"]) / "dag_test_calendar.log",
        {"LHPN_TODAY": "2026-12-13"})
    [run] = _results(output)
    assert run["state"] == "success", run
    [label] = run["map_names"].values()
    assert label.startswith("2026 T-3: 01 04 08 ") and len(label.split(": ")[1].split()) == 34
    notices = sorted(p.parent.name for p in home.outbox.glob("*/nhac_nho_2026_T-3.txt"))
    assert notices == label.split(": ")[1].split()
