"""Ingest end to end on the embedded PostgreSQL: real workbooks in, raw rows out."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest import pipeline
from ingest.read import parse
from ingest.samples import write_ods, write_xls
from tests.workbooks import POVERTY, drop, report


def run():
    return pipeline.process_files(pipeline.list_inbox())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_messy_workbook_lands_with_exact_values(home, db):
    rep = report("60", "2024", districts=4, poverty_total="sum")
    rep.term_rows = [
        {"code": "CT01", "target": 5000, "actual": "3.562/5.000"},  # a count given as a fraction
        {"code": "CT02", "target": "80%", "actual": "71%"},
        {"code": "CT07", "target": 90, "actual": "45/50"},  # % indicator: 45 ÷ 50 × 100
        {"code": "CT08", "target": 15, "actual": "11,54"},  # a percent with decimals
    ]
    rep.poverty_rows[0].update(poor_households_start=1284, charity_homes_vnd=1.5,
                               households_out_of_near_poverty=None)
    path = drop(home.inbox, rep, money_unit="tỷ đồng", ascii_headers=True)
    digest = sha(path)

    summary = run()

    assert [r.event for r in summary.results] == ["accepted"]
    assert not path.exists(), "a processed file leaves the inbox"
    archived = home.archive / digest[:2] / f"{digest}.xlsx"
    assert sha(archived) == digest
    sub = db.execute("select province_code, period, term, version, status, outcome, sheets,"
                     " archive_path from raw.submissions").fetchone()
    assert sub[:6] == ("60", "2024", "2021-2026", 1, "accepted", "accepted")
    assert set(sub[6]) == {"ChiTieu", "ThiDua", "GiamNgheo"}
    assert sub[7] == f"archive/{digest[:2]}/{digest}.xlsx"
    ti = dict(db.execute("select indicator_code, actual_value::float8 from raw.term_indicators"))
    assert ti == {"CT01": 3562, "CT02": 71, "CT07": 90, "CT08": 11.54}
    targets = dict(db.execute("select indicator_code, target_value from raw.term_indicators"))
    assert targets["CT02"] == 80
    texts = dict(db.execute("select indicator_code, actual_text from raw.term_indicators"))
    assert texts["CT01"] == "3.562/5.000"
    rows = db.execute(
        "select excel_row, district_name, is_total, poor_households_start, charity_homes_vnd,"
        " households_out_of_near_poverty from raw.poverty_support order by excel_row").fetchall()
    # title rows 1-2, header on row 4, a blank row after the second district, total last
    assert [r[0] for r in rows] == [5, 6, 8, 9, 10]
    assert [r[2] for r in rows] == [False, False, False, False, True]
    assert rows[0][3] == 1284
    assert rows[0][4] == 1_500_000_000  # 1,5 tỷ đồng in VND
    assert rows[0][5] is None  # empty cell: not reported, never zero
    assert rows[-1][1] == "Tổng cộng"
    scores = db.execute("select count(*) from raw.emulation_scores").fetchone()[0]
    assert scores == 8


@pytest.mark.parametrize("delimiter,bom", [(";", True), (",", False)])
def test_csv_with_or_without_bom(home, db, delimiter, bom):
    rep = report("35", "2024-6T", sheets=(POVERTY,), districts=3)
    drop(home.inbox, rep, "giam_ngheo.csv", delimiter=delimiter, bom=bom)
    summary = run()
    assert [r.event for r in summary.results] == ["accepted"], summary.results[0]
    assert db.execute("select period, sheets from raw.submissions").fetchone() == (
        "2024-6T", ["GiamNgheo"])
    assert db.execute("select count(*) filter (where is_total), count(*) from raw.poverty_support"
                      ).fetchone() == (1, 4)


def test_xls_and_ods_are_read(home, db):
    write_xls(report("51", "2024", seed=3), home.inbox / "51" / "bao_cao.xls")
    write_ods(report("52", "2024", seed=4), home.inbox / "52" / "bao_cao.ods")
    summary = run()
    assert sorted(r.event for r in summary.results) == ["accepted", "accepted"]
    counts = dict(db.execute("select s.province_code, count(*) from raw.term_indicators t"
                             " join raw.submissions s using (submission_id) group by 1"))
    assert counts == {"51": 8, "52": 8}


def test_resubmission_supersedes_and_duplicate_changes_nothing(home, db):
    first = report("56", "2024", seed=5)
    path = drop(home.inbox, first)
    original = path.read_bytes()
    run()
    second = report("56", "2024", seed=6)
    drop(home.inbox, second, "BC_56_2024_sua.xlsx")
    run()
    rows = db.execute("select version, status from raw.submissions order by version").fetchall()
    assert rows == [(1, "superseded"), (2, "accepted")]
    # both versions stay queryable
    assert db.execute("select count(distinct submission_id) from raw.term_indicators"
                      ).fetchone()[0] == 2

    # the very same bytes again: recorded in the log, removed from the inbox, nothing else
    again = home.inbox / "56" / "BC_56_2024_lan3.xlsx"
    again.write_bytes(original)
    summary = run()
    assert [r.event for r in summary.results] == ["duplicate"]
    assert not again.exists()
    assert db.execute("select count(*) from raw.submissions").fetchone()[0] == 2
    assert db.execute("select count(*) from audit.ingest_log where event = 'duplicate'"
                      ).fetchone()[0] == 1
    assert not any(home.quarantine.rglob("*.xlsx"))


@pytest.mark.parametrize("name,content,rule", [
    ("hong.xlsx", b"PK\x03\x04 this zip is cut short", "fragment"),  # (old: not deferred)
    ("rong.xlsx", b"", "empty_file"),
    ("van_ban.xlsx", "Báo cáo năm 2024: 1.284 hộ".encode(), "unreadable"),
    ("macro.xlsm", b"PK\x03\x04", "macro_enabled"),
    ("ghi_chu.docx", b"PK\x03\x04", "file_type"),
])
def test_unreadable_files_are_archived_and_quarantined_with_a_report(home, db, name, content,
                                                                     rule, monkeypatch):
    monkeypatch.setenv("LHPN_FRAGMENT_SECONDS", "0")  # a file cut short is not waited for
    path = home.inbox / "60" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    summary = run()
    assert [r.event for r in summary.results] == ["rejected"]
    digest = hashlib.sha256(content).hexdigest()
    assert (home.archive / digest[:2] / f"{digest}{path.suffix}").read_bytes() == content
    quarantined = home.quarantine / "60" / name
    assert quarantined.read_bytes() == content
    report_text = (home.quarantine / "60" / f"{name}.errors.txt").read_text(encoding="utf-8")
    assert report_text.index("TỪ CHỐI") < report_text.index("REJECTED"), "Vietnamese first"
    assert not path.exists()
    assert db.execute("select status, version from raw.submissions").fetchone() == (
        "rejected", None)
    assert db.execute("select rule from audit.validation_results").fetchone()[0] == rule


def test_file_still_being_written_is_left_for_the_next_run(home, db, monkeypatch):
    """A file that keeps changing through the whole (bounded) wait is deferred, not loaded."""
    import threading

    path = drop(home.inbox, report("60", "2024"))
    monkeypatch.setenv("LHPN_SETTLE_SECONDS", "1")
    monkeypatch.setenv("LHPN_SETTLE_WAIT_SECONDS", "2")
    stop = threading.Event()

    def touch():
        while not stop.wait(0.2):
            os.utime(path)  # the writer is still at work

    writer = threading.Thread(target=touch)
    writer.start()
    try:
        summary = run()
    finally:
        stop.set()
        writer.join()
    assert [r.event for r in summary.results] == ["deferred"]
    assert "still changing" in summary.results[0].message
    assert path.exists()
    assert db.execute("select count(*) from raw.submissions").fetchone()[0] == 0
    assert [r.event for r in run().results] == ["accepted"]


def test_lock_files_are_left_while_young_and_hidden_files_are_answered(home):
    drop(home.inbox, report("60", "2024"))
    lock = home.inbox / "60" / "~$BC_60_2024.xlsx"
    lock.write_bytes(b"lock")
    (home.inbox / "60" / ".DS_Store").write_bytes(b"x")
    (home.inbox / "60" / ".an.xlsx").write_bytes(b"x")
    assert [Path(p).name for p in pipeline.list_inbox()] == [".an.xlsx", "BC_60_2024.xlsx"]
    old = time.time() - 2 * 86400
    os.utime(lock, (old, old))  # a leftover lock file is answered, not ignored for ever
    assert "~$BC_60_2024.xlsx" in [Path(p).name for p in pipeline.list_inbox()]


def _run_in_subprocess(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    code = "from ingest import pipeline; pipeline.process_files(pipeline.list_inbox())"
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env_extra},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["after_submission_row", "between_sheets"])
def test_killed_loader_leaves_nothing_half_loaded(home, db, fault):
    path = drop(home.inbox, report("60", "2024", districts=6))
    killed = _run_in_subprocess({"LHPN_FAULT": fault})
    assert killed.returncode == -9, killed.stderr
    assert path.exists(), "the file stays in the inbox until its submission is committed"
    assert db.execute("select count(*) from raw.submissions").fetchone()[0] == 0
    assert db.execute("select count(*) from raw.term_indicators").fetchone()[0] == 0

    # the next run needs no process of its own (only the killed one did): this process's
    again = run()
    assert [r.event for r in again.results] == ["accepted"]
    assert not path.exists()
    assert db.execute("select count(*), min(version) from raw.submissions").fetchone() == (1, 1)
    counts = db.execute("select (select count(*) from raw.term_indicators),"
                        " (select count(*) from raw.emulation_scores),"
                        " (select count(*) from raw.poverty_support)").fetchone()
    assert counts == (8, 8, 7)


def test_concurrent_runs_load_each_file_once(home, db):
    for i, code in enumerate(("01", "04", "08", "10", "11", "12")):
        drop(home.inbox, report(code, "2024", seed=i))
    code = "from ingest import pipeline; pipeline.process_files(pipeline.list_inbox())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(),
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    assert db.execute("select count(*), count(distinct sha256), max(version)"
                      " from raw.submissions").fetchone() == (6, 6, 1)
    assert db.execute("select count(*) from raw.term_indicators").fetchone()[0] == 6 * 8
    assert pipeline.list_inbox() == []


def test_file_at_the_inbox_top_is_not_lost(home, db):
    rep = report("60", "2024")
    path = drop(home.inbox, rep)
    stray = home.inbox / path.name
    path.rename(stray)
    summary = run()
    assert len(summary.results) == 1
    assert not stray.exists()
    assert db.execute("select count(*) from raw.submissions").fetchone()[0] == 1
    assert any(home.archive.rglob("*.xlsx"))


def test_progress_callback_sees_every_file(home):
    for i, code in enumerate(("01", "04")):
        drop(home.inbox, report(code, "2024", seed=i))
    seen = []
    pipeline.process_files(pipeline.list_inbox(), progress=lambda r, i, n: seen.append((i, n)))
    assert seen == [(1, 2), (2, 2)]


def test_sheet_names_match_loosely_and_reports_use_them_as_written(home, db):
    from openpyxl import load_workbook

    rep = report("60", "2024", sheets=(POVERTY,), districts=3)
    rep.info_overrides = {"Kỳ báo cáo": "2024-13T"}  # malformed period
    path = drop(home.inbox, rep)
    wb = load_workbook(path)
    wb["ThongTin"].title = "Thông tin"
    wb["GiamNgheo"].title = "GIẢM NGHÈO"
    wb.save(path)
    summary = run()
    assert [r.event for r in summary.results] == ["rejected"]
    finding = db.execute("select sheet, excel_row, column_header, value from"
                         " audit.validation_results where rule like 'period%%'").fetchone()
    assert finding == ("Thông tin", 5, "Kỳ báo cáo", "2024-13T")
    text = Path(summary.results[0].report).read_text(encoding="utf-8")
    assert "Thông tin" in text and "2024-13T" in text


@pytest.mark.slow
def test_large_run_parses_on_worker_processes_with_the_same_result(home, db, monkeypatch):
    monkeypatch.setenv("LHPN_WORKERS", "2")
    count = parse.PARALLEL_MIN_FILES + 2
    for i in range(count):
        rep = report("60", "2024-6T", seed=i, sheets=(POVERTY,), districts=2)
        drop(home.inbox, rep, f"gn_{i:03d}.csv")
    summary = run()
    assert len(summary.results) == count
    assert {r.event for r in summary.results} == {"accepted"}, summary.results
    versions = [r[0] for r in db.execute("select version from raw.submissions order by version")]
    assert versions == list(range(1, count + 1))
    assert db.execute("select count(*) from raw.poverty_support").fetchone()[0] == count * 3


def test_rows_are_checked_against_their_submission_by_key_whatever_the_statistics(home, db):
    """Each copied row's foreign key is looked up in raw.submissions by its primary key, also
    when autovacuum last counted that table at 0 rows (a new warehouse, `lhpn rebuild`): planned
    on such statistics, the lookup reads the whole table for every row."""
    files, districts = 40, 20
    for i in range(files):
        rep = report("60", "2024-6T", seed=i, sheets=(POVERTY,), districts=districts)
        drop(home.inbox, rep, f"gn_{i:03d}.csv")
    db.execute("analyze raw.submissions")  # what autovacuum does to a table it finds empty
    scans = ("select seq_scan, coalesce(idx_scan, 0) from pg_stat_user_tables"
             " where relid = 'raw.submissions'::regclass")
    db.execute("select pg_stat_clear_snapshot()")
    seq_before, by_key_before = db.execute(scans).fetchone()

    summary = run()

    assert {r.event for r in summary.results} == {"accepted"}, summary.results
    rows = db.execute("select count(*) from raw.poverty_support").fetchone()[0]
    assert rows == files * (districts + 1)
    # the run's session reports its statistics as it ends: wait until its lookups are counted
    for _ in range(100):
        db.execute("select pg_stat_clear_snapshot()")
        seq, by_key = db.execute(scans).fetchone()
        if seq - seq_before + by_key - by_key_before >= rows:
            break
        time.sleep(0.1)
    # one lookup by key per row (planned on those statistics: one whole-table scan per row)
    assert by_key - by_key_before >= rows, (seq - seq_before, by_key - by_key_before, rows)


@pytest.mark.parametrize("label", ["Toàn tỉnh", "CỘNG", "Tổng  cộng"])
def test_total_row_labels_are_recognised(home, db, label):
    from openpyxl import load_workbook

    path = drop(home.inbox, report("60", "2024-6T", sheets=(POVERTY,), districts=3))
    wb = load_workbook(path)
    ws = wb["GiamNgheo"]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == "Tổng cộng":
                cell.value = label
    wb.save(path)
    assert [r.event for r in run().results] == ["accepted"]
    totals = db.execute("select district_name from raw.poverty_support where is_total"
                        ).fetchall()
    assert totals == [(label,)]


def test_inbox_can_live_elsewhere(home, db, tmp_path, monkeypatch):
    shared = tmp_path / "shared-folder"
    monkeypatch.setenv("LHPN_INBOX", str(shared))
    path = drop(shared, report("60", "2024"))
    summary = run()
    assert [r.event for r in summary.results] == ["accepted"]
    assert not path.exists()
    assert db.execute("select province_code from raw.submissions").fetchone() == ("60",)
    assert any(home.archive.rglob("*.xlsx")), "the archive stays in the data home"


def test_a_file_the_database_refuses_fails_alone_and_stays_in_the_inbox(home, db, monkeypatch,
                                                                       refuse_loading):
    from ingest.load import submissions as load

    for i, code in enumerate(("01", "04", "08")):
        drop(home.inbox, report(code, "2024", seed=i))
    refused = drop(home.inbox, report("10", "2024", seed=9))
    real = refuse_loading(refused.name)
    summary = run()
    events = {r.source_file: r.event for r in summary.results}
    assert events.pop(refused.name) == "failed"
    assert set(events.values()) == {"accepted"}
    assert refused.exists(), "a file whose load failed is kept for the next run"
    assert db.execute("select count(*) from raw.submissions").fetchone()[0] == 3
    assert db.execute("select count(*) from audit.ingest_log where event = 'failed'"
                      ).fetchone()[0] == 1

    monkeypatch.setattr(load, "load_batch", real)
    assert [r.event for r in run().results] == ["accepted"]
