"""What an ingest run rebuilds: only what it made stale (issue 14 item 3, issue 11 item 4).

`lhpn run` through its real entry point (click, in-process) on the embedded PostgreSQL, with
dbt's runner wrapped so the test sees every dbt invocation.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import main as cli
from tests.test_calendar import AROUND_THE_DUE_DATE


@pytest.fixture
def dbt_calls(monkeypatch) -> list[list[str]]:
    """Every dbt build run from now on (the real runner still runs it)."""
    import dbt.cli.main

    calls: list[list[str]] = []
    real = dbt.cli.main.dbtRunner

    class CountingRunner(real):
        def invoke(self, args, **kwargs):
            if args[0] == "build":  # `docs generate` for the pages is not a marts build
                calls.append(list(args))
            return super().invoke(args, **kwargs)

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", CountingRunner)
    return calls


def _run() -> str:
    result = CliRunner().invoke(cli.main, ["run"])
    assert result.exit_code == 0, result.output
    return result.output


def _drop_rejected(inbox, province: str, period: str):
    from ingest import samples
    from ingest.model import POVERTY

    bad = samples.random_report(random.Random(3), province, period, sheets=(POVERTY,))
    row = bad.poverty_rows[0]
    row["households_out_of_poverty"] = row["poor_households_start"] + 7
    return samples.write_xlsx(bad, inbox / province / f"BC_{province}_{period}.xlsx")


@pytest.mark.slow
def test_lhpn_run_builds_only_what_the_run_made_stale(home, db, dbt_calls):
    from ingest.marts import build
    from ingest.marts.build import marts_plan

    # a data home that never built its marts: the worker's earlier tests leave a record of their
    # last build, which a fresh home does not have
    (build._target_path() / build.BUILD_STAMP).unlink(missing_ok=True)
    # the first run loads the samples and builds every mart
    out = _run()
    # (and `dbt docs generate`, when this data home has no docs of this project yet)
    builds = [call for call in dbt_calls if call[0] == "build"]
    assert len(builds) == 1 and "submission_status" not in builds[0], dbt_calls
    assert "Marts built" in out
    assert marts_plan() == ("none", "no data changed since the last build")

    # nothing new: dbt is not invoked at all, and the run says why
    dbt_calls.clear()
    out = _run()
    assert dbt_calls == [], "a run with nothing new must not invoke dbt"
    assert "marts are current" in out

    # only a rejected file: the marts that read rejected files (status, versions, findings) alone
    # are rebuilt, so `lhpn status` is current
    assert db.execute("select status from marts.submission_status"
                      " where province_code = '22' and period = '2024'").fetchone()[0] == "missing"
    rejected = _drop_rejected(home.inbox, "22", "2024")
    sent = rejected.read_bytes()
    out = _run()
    assert len(dbt_calls) == 1, dbt_calls
    selected = dbt_calls[0][dbt_calls[0].index("--select") + 1:]
    assert selected[:4] == ["submission_status", "reporting_rounds", "submission_versions",
                            "validation_findings"]
    assert db.execute("select count(*) from marts.validation_findings"
                      " where province_code = '22'").fetchone()[0] >= 1, "the page's findings"
    assert db.execute("select status from marts.submission_status"
                      " where province_code = '22' and period = '2024'").fetchone()[0] == "rejected"
    status = CliRunner().invoke(cli.main, ["status", "--province", "22"])
    assert status.exit_code == 0, status.output
    line = next(line for line in status.output.splitlines() if line.strip().startswith("22 "))
    assert "2024" in line and "Bị từ chối / Rejected" in line, status.output  # by its labels

    # the same bytes again are a duplicate: nothing the marts read changed, no dbt again
    dbt_calls.clear()
    rejected.write_bytes(sent)
    _run()
    assert db.execute("select count(*) from audit.ingest_log where event = 'duplicate'"
                      ).fetchone()[0] == 1
    assert dbt_calls == []


@pytest.mark.slow
@AROUND_THE_DUE_DATE  # after tests/test_calendar.py's, which end on 2026-12-16
def test_a_new_day_rebuilds_the_calendar_without_new_files(home, db, dbt_calls, monkeypatch):
    """The status follows the calendar (contract §7): with no new file, moving LHPN_TODAY past
    the 2026 due date rebuilds the marts once (the calendar moved), turning not_due into missing;
    `lhpn status` on that day answers for it; the same day again builds nothing."""
    from ingest.marts.build import marts_plan

    monkeypatch.setenv("LHPN_TODAY", "2026-12-15")
    _run()
    status = "select status, on_time, days_late from marts.submission_status" \
             " where province_code = '01' and period = '2026'"
    assert db.execute(status).fetchone() == ("not_due", None, None)
    dbt_calls.clear()
    monkeypatch.setenv("LHPN_TODAY", "2026-12-16")
    assert marts_plan() == (
        "full", "the calendar moved: last built for 2026-12-15, today is 2026-12-16")
    out = CliRunner().invoke(cli.main, ["status", "--round", "2026"])
    assert out.exit_code == 0, out.output
    assert len(dbt_calls) == 1, "lhpn status answers for today: one build"
    assert db.execute(status).fetchone() == ("missing", False, 1)
    assert "missing 34" in out.output and "1 day past due" in out.output, out.output
    assert "expected 34" in out.output and "late, incl. missing 34" in out.output
    dbt_calls.clear()
    CliRunner().invoke(cli.main, ["status"])
    assert dbt_calls == [] and marts_plan()[0] == "none"


@pytest.mark.parametrize("message", [
    "canceling statement due to lock timeout",
    "Database Error in model int_provinces_lineage: deadlock detected DETAIL: Process 1 waits",
])
def test_a_build_retries_the_nodes_that_met_a_lock_conflict(monkeypatch, message):
    """A BI reader past lock_timeout, or two of dbt's threads deadlocked on views that depend on
    each other (seen in CI): the failed nodes are built again with `dbt retry`; any other
    failure is not retried."""
    from types import SimpleNamespace

    from ingest.marts import build

    monkeypatch.setenv("LHPN_BUILD_RETRY_PAUSE", "0")
    calls = []
    outcomes = {"build": (False, "error", message), "retry": (True, "success", None)}

    def invoke(command, **_):
        calls.append(command[0])
        return SimpleNamespace(success=outcomes[command[0]][0], command=command[0])

    def records(result):
        _, status, text = outcomes[result.command]
        return [{"unique_id": "model.lhpn.int_provinces_lineage", "status": status,
                 "message": text}]

    monkeypatch.setattr(build, "_invoke", invoke)
    monkeypatch.setattr(build, "_node_records", records)
    result, nodes, attempts = build._invoke_with_retries(["build"], verbose=False, url="")
    assert (result.success, attempts, calls) == (True, 2, ["build", "retry"])
    assert nodes[0]["status"] == "success"

    calls.clear()
    outcomes["build"] = (False, "error", "relation does not exist")
    result, _, attempts = build._invoke_with_retries(["build"], verbose=False, url="")
    assert (result.success, attempts, calls) == (False, 1, ["build"])


def _marts(db) -> dict[str, list[str]]:
    """Every mart's rows (build_info aside: it says when and by which invocation it was built)."""
    tables = [r[0] for r in db.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
        " and table_name <> 'build_info' order by 1")]
    return {table: sorted(r[0] for r in db.execute(
        f'select to_jsonb(t)::text from marts."{table}" as t')) for table in tables}


def _selected(call: list[str]) -> list[str]:
    start = call.index("--select") + 1
    end = next((i for i in range(start, len(call)) if call[i].startswith("--")), len(call))
    return call[start:end]


@pytest.mark.slow
def test_one_file_rebuilds_what_it_changes_and_equals_a_full_build(home, db, dbt_calls):
    """Issue 23 item 4: a new file rebuilds the marts downstream of the raw tables it (and the
    version it supersedes) changed, with their tests, and the status marts; what it leaves
    alone is exactly what a full build would have made."""
    from ingest.marts.build import build_marts, marts_plan, refresh_marts
    from tests.workbooks import POVERTY, TERM, drop, report

    server_log = Path(db.execute("show data_directory").fetchone()[0]) / "log"
    logged_before = server_log.stat().st_size
    drop(home.inbox, report("60", "2024", seed=1))
    drop(home.inbox, report("01", "2024", seed=2))
    drop(home.inbox, report("04", "2024-6T", seed=3, sheets=(TERM, POVERTY)))
    CliRunner().invoke(cli.main, ["run", "--no-samples"])
    assert marts_plan()[0] == "none"

    def one_run() -> str:
        dbt_calls.clear()
        result = CliRunner().invoke(cli.main, ["run", "--no-samples"])
        assert result.exit_code == 0, result.output
        assert len(dbt_calls) == 1, dbt_calls
        assert marts_plan()[0] == "none", "the stamp records what was built"
        return result.output

    def equals_a_full_build() -> None:
        selective = _marts(db)
        dbt_calls.clear()
        # every model built again, as a full build builds them (its data tests change no row)
        build_marts(select="resource_type:model")
        assert _marts(db) == selective

    # a ChiTieu-only report of a new (province, period): the term marts and the status marts
    drop(home.inbox, report("08", "2023", seed=4, sheets=(TERM,)))
    out = one_run()
    assert "new data in raw.term_indicators and the status of the files" in out, out
    selected = " ".join(_selected(dbt_calls[0]))
    assert "source:raw.term_indicators+" in selected and "poverty" not in selected
    line = next(x for x in out.splitlines() if x.startswith("Marts built"))
    assert "term_scorecard" in line and "submission_status" in line
    assert "emulation_ranking" not in line and "poverty_support_outcomes" not in line, line
    assert db.execute("select count(*) from marts.term_scorecard"
                      " where province_code = '08'").fetchone()[0] == 1
    equals_a_full_build()

    # version 2 of a half-year report: its two tables (version 1's rows leave the marts), not
    # the emulation ranking
    drop(home.inbox, report("04", "2024-6T", seed=5, sheets=(TERM, POVERTY)),
         "BC_04_2024-6T_sua.xlsx")
    out = one_run()
    assert "new data in raw.term_indicators, raw.poverty_support and the status" in out, out
    assert "emulation" not in " ".join(_selected(dbt_calls[0]))
    assert db.execute("select source_file from marts.poverty_support_outcomes where"
                      " province_code = '04' and period = '2024-6T'").fetchone() == (
        "BC_04_2024-6T_sua.xlsx",)
    equals_a_full_build()

    # a mid-term review with a GiamNgheo sheet: no poverty mart reads a review's rows (dbt var
    # sheet_period_kinds), so only the term marts are rebuilt; the tests of the poverty staging
    # view still test the file's rows
    drop(home.inbox, report("08", "GK-2023", seed=6, sheets=(TERM, POVERTY)))
    assert CliRunner().invoke(cli.main, ["run", "--no-samples", "--no-marts"]).exit_code == 0
    assert db.execute("select count(*) from raw.poverty_support join raw.submissions using"
                      " (submission_id) where period = 'GK-2023'").fetchone()[0] > 0
    dbt_calls.clear()
    summary = refresh_marts()
    assert summary["reason"] == (
        "new data in raw.term_indicators and new rows no mart reads in raw.poverty_support"
        " (their tests) and the status of the files and a new period"), summary["reason"]
    assert "poverty" not in " ".join(summary["models"]), summary["models"]
    assert "term_scorecard" in summary["models"] and "submission_status" in summary["models"]
    tests = {n["name"] for n in summary["nodes"] if n["resource_type"] == "test"}
    assert {t for t in tests if "poverty" in t} == {
        "unique_combination_stg_raw__poverty_support_submission_id__excel_row",
        "relationships_stg_raw__poverty_support_commune_code__commune_code__ref_communes_2025_"}
    assert len(dbt_calls) == 1 and marts_plan()[0] == "none"
    equals_a_full_build()

    # a rejected file naming a period nobody sent: the status marts, periods among them
    _drop_rejected(home.inbox, "22", "2018")
    out = one_run()
    assert "only rejected files arrived" in out, out
    assert "periods" in _selected(dbt_calls[0])
    assert db.execute("select count(*) from marts.periods where period = '2018'"
                      ).fetchone()[0] == 1
    equals_a_full_build()

    # dbt's threads keep their connections from node to node (`_keep_connections`) without a
    # warning per model in the server's log
    with server_log.open("rb") as log:
        log.seek(logged_before)
        assert b"there is no transaction in progress" not in log.read()


def test_a_selective_build_meeting_a_lock_conflict_runs_its_selection_again(monkeypatch):
    """A selective build writes no run_results.json (dbt's artifacts are left to full builds),
    so `dbt retry` would replay some earlier build's failures: it is run again as it was."""
    from types import SimpleNamespace

    from ingest.marts import build

    monkeypatch.setenv("LHPN_BUILD_RETRY_PAUSE", "0")
    calls = []
    results = iter([(False, "error", "canceling statement due to lock timeout"),
                    (True, "success", None)])

    def invoke(command, **_):
        calls.append(list(command))
        success, status, text = next(results)
        return SimpleNamespace(success=success, status=status, text=text)

    def records(result):
        return [{"unique_id": "model.lhpn.submission_status", "status": result.status,
                 "message": result.text}]

    monkeypatch.setattr(build, "_invoke", invoke)
    monkeypatch.setattr(build, "_node_records", records)
    command = ["build", "--select", build.feed_select(("term_indicators",)), build.NO_ARTIFACTS]
    result, nodes, attempts = build._invoke_with_retries(command, verbose=False, url="")
    assert (result.success, attempts) == (True, 2)
    assert calls == [command, command], "the same selection again, never `dbt retry`"
    assert nodes[0]["status"] == "success"


def test_a_tests_record_names_the_models_it_counts_against(tmp_path):
    """A selective build rewrites no manifest.json: the DAG's per-model grid takes a test's
    parents from the test's own record, not from an older manifest that may lack it."""
    from ingest.marts.build import model_statuses

    def node(uid, status, depends_on=None, message=None):
        kind, _, name = uid.split(".")
        record = {"unique_id": uid, "name": name, "resource_type": kind, "status": status,
                  "execution_time": 0.1, "message": message}
        if depends_on is not None:
            record["depends_on"] = depends_on
        return record

    statuses = model_statuses([
        node("model.lhpn.term_scorecard", "success"),
        node("model.lhpn.term_indicator_attainment", "success"),
        node("test.lhpn.assert_scorecard_counts_equal_attainment_rows", "fail",
             ["model.lhpn.term_indicator_attainment", "model.lhpn.term_scorecard"], "Got 1"),
        node("test.lhpn.not_null_term_scorecard_province_name", "pass",
             ["model.lhpn.term_scorecard"])], tmp_path / "no-manifest.json")
    by_name = {m["name"]: m for m in statuses}
    assert by_name["term_scorecard"]["tests"] == {"fail": 1, "pass": 1}
    assert by_name["term_indicator_attainment"]["failed"]
    assert by_name["term_indicator_attainment"]["failed_tests"] == [
        "assert_scorecard_counts_equal_attainment_rows: Got 1"]
