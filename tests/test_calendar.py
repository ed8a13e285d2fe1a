"""The reporting calendar (contract §6, §7, §9; issue 18): "received" is when the warehouse first
saw a file, never its modification time; lateness follows the due date as a Vietnam date;
"today" is LHPN_TODAY where set; the reminders go out once per province, round and stage and
are withdrawn once the report is accepted."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from ingest import pipeline, settings
from ingest.cli import main as cli
from ingest.load import submissions
from tests.workbooks import POVERTY, TERM, drop, report

YEAR = 365 * 86400
# The tests that build the marts on the days around the 2026 due date (here and in
# tests/test_marts_refresh.py) run on one worker, one after another: each finds the marts and
# dbt's parse of the day the test before left (the first build on a new day is a full one and
# parses the project again for the new date, seconds of CPU each).
AROUND_THE_DUE_DATE = pytest.mark.xdist_group("around_the_2026_due_date")


def run():
    return pipeline.process_files(pipeline.list_inbox())


def lhpn(*args: str) -> str:
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_today_is_lhpn_today_or_the_date_in_vietnam(monkeypatch):
    monkeypatch.setenv("LHPN_TODAY", "2026-12-16")
    assert settings.today() == date(2026, 12, 16)
    monkeypatch.delenv("LHPN_TODAY")
    assert settings.today() == datetime.now(settings.LOCAL_TIME).date()
    monkeypatch.setenv("LHPN_TODAY", "16/12/2026")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        settings.today()


def test_a_period_after_lhpn_today_is_rejected(home, db, monkeypatch):
    """Validation's "period after today" follows LHPN_TODAY, in both directions."""
    monkeypatch.setenv("LHPN_TODAY", "2025-12-31")
    drop(home.inbox, report("01", "2026", sheets=(POVERTY,)))
    [result] = run().results
    assert result.event == "rejected"
    finding = db.execute("select message_vi from audit.validation_results"
                         " where rule = 'period_in_future'").fetchone()[0]
    assert "31/12/2025" in finding


def test_received_at_is_when_the_warehouse_first_saw_the_file(home, db, refuse_loading):
    """A copy that kept its author's time (cp -p, SMB, Explorer) is received when it is seen; a
    file the system failed on keeps its first sighting when a later run loads it."""
    path = drop(home.inbox, report("60", "2024"))
    modified = time.time() - YEAR
    os.utime(path, (modified, modified))
    real = refuse_loading(path.name)
    before = datetime.now(UTC)
    assert [r.event for r in run().results] == ["failed"]
    first_seen = db.execute("select first_seen_at from audit.inbox_seen").fetchone()[0]
    assert before - timedelta(seconds=1) <= first_seen <= datetime.now(UTC)
    time.sleep(1.1)
    submissions.load_batch = real  # the database is back
    assert [r.event for r in run().results] == ["accepted"]
    received, file_modified = db.execute(
        "select received_at, file_modified_at from raw.submissions").fetchone()
    assert received == first_seen, "the retry keeps the time the file was first seen"
    assert abs(file_modified.timestamp() - modified) < 1, "the mtime is kept apart"


@pytest.mark.slow
def test_an_old_copy_dropped_after_the_due_date_is_late(home, db, monkeypatch):
    """The 2025 annual report (due 15 December 2025) copied today with its author's time of a
    year ago is late in submission_status and its receipt says by how many days; the same kind
    of file in a run marked as a backfill gets no verdict."""
    monkeypatch.setenv("LHPN_TODAY", datetime.now(settings.LOCAL_TIME).date().isoformat())
    late = drop(home.inbox, report("01", "2025", sheets=(TERM, POVERTY), term="2025-2030"))
    modified = time.time() - YEAR
    os.utime(late, (modified, modified))
    lhpn("run", "-q", "--no-samples")
    monkeypatch.setenv("LHPN_BACKFILL", "1")
    history = drop(home.inbox, report("04", "2025", sheets=(POVERTY,), term="2025-2030"))
    os.utime(history, (modified, modified))
    lhpn("run", "-q", "--no-samples")

    days = (settings.today() - date(2025, 12, 15)).days
    rows = dict((r[0], r[1:]) for r in db.execute(
        "select province_code, status, on_time, days_late, is_backfill, due_date"
        " from marts.submission_status where period = '2025' and province_code in ('01', '04')"))
    assert rows["01"] == ("accepted", False, days, False, date(2025, 12, 15))
    assert rows["04"] == ("accepted", None, None, True, date(2025, 12, 15))
    receipt = (home.outbox / "01" / f"{late.name}.receipt.txt").read_text(encoding="utf-8")
    assert f"Hạn nộp kỳ 2025: 15/12/2025 — tệp nhận MUỘN {days} ngày" in receipt
    assert f"Due date for 2025: 15/12/2025 — the file came {days} day(s) LATE" in receipt
    backfilled = (home.outbox / "04" / f"{history.name}.receipt.txt").read_text(encoding="utf-8")
    assert "nhập bù dữ liệu cũ, không xét đúng hạn" in backfilled


@pytest.mark.slow
@AROUND_THE_DUE_DATE
def test_reminders_once_per_province_and_stage_withdrawn_when_accepted(home, db, monkeypatch):
    """On 4 December 2026 a fresh warehouse expects 2026 and 2026-6T from all 34 provinces.
    Moving today past the 15 December due date with no new file turns not_due into missing,
    and `lhpn remind` writes exactly one T+1 notice per missing province, with its template
    beside it; run again it rewrites nothing; a rejected file is named in its province's
    notice; an accepted report withdraws its province's notice."""
    monkeypatch.setenv("LHPN_TODAY", "2026-12-04")
    lhpn("run", "-q", "--no-samples")
    rows = db.execute("select period, status, count(*) from marts.submission_status"
                      " where period in ('2026', '2026-6T') group by 1, 2 order by 1").fetchall()
    assert rows == [("2026", "not_due", 34), ("2026-6T", "missing", 34)]

    monkeypatch.setenv("LHPN_TODAY", "2026-12-16")
    out = lhpn("remind")
    assert db.execute("select count(*) from marts.submission_status where period = '2026'"
                      " and status = 'missing'").fetchone()[0] == 34
    notices = sorted(home.outbox.glob("*/nhac_nho_*"))
    assert [p.name for p in notices] == ["nhac_nho_2026_T+1.txt"] * 34, "one per province"
    assert len({p.parent.name for p in notices}) == 34 and "written 34" in out
    assert (home.outbox / "68" / "BaoCao_68_2026.xlsx").exists(), "the template beside it"
    text = (home.outbox / "68" / "nhac_nho_2026_T+1.txt").read_text(encoding="utf-8")
    vi, en = text.split("REPORT REMINDER")
    assert "Hạn nộp: 15/12/2026 (ĐÃ QUÁ HẠN)" in vi and "BaoCao_68_2026.xlsx" in vi
    assert "Due date: 15/12/2026 (OVERDUE)" in en
    stamps = {p: p.stat().st_mtime_ns for p in notices}
    out = lhpn("remind")
    assert "written 0, không đổi / unchanged 34" in out
    assert {p: p.stat().st_mtime_ns for p in notices} == stamps, "unchanged text, not rewritten"

    # a rejected file is named, with its error; an accepted report withdraws the notice
    bad = report("04", "2026", sheets=(POVERTY,), term="2025-2030")
    bad.poverty_rows[0]["households_out_of_poverty"] = bad.poverty_rows[0][
        "poor_households_start"] + 9
    rejected = drop(home.inbox, bad)
    drop(home.inbox, report("01", "2026", sheets=(TERM, POVERTY), term="2025-2030"))
    lhpn("run", "-q", "--no-samples")
    assert not (home.outbox / "01" / "nhac_nho_2026_T+1.txt").exists(), "withdrawn"
    assert not (home.outbox / "01" / "BaoCao_01_2026.xlsx").exists(), "its template too"
    assert (home.outbox / "04" / "BaoCao_04_2026.xlsx").exists(), "still due: template stays"
    out = lhpn("remind", "--dry-run")
    assert "33 nhắc nhở" in out
    lhpn("remind")
    notice = (home.outbox / "04" / "nhac_nho_2026_T+1.txt").read_text(encoding="utf-8")
    assert f'"{rejected.name}"' in notice and "Hộ thoát nghèo" in notice
    # her file was sent and rejected: the notice asks to fix it, never "already sent? nothing"
    assert "sửa tệp đã gửi" in notice and "correct the file you sent" in notice
    assert "không cần làm gì" not in notice and "Nothing to do" not in notice
    missing = (home.outbox / "08" / "nhac_nho_2026_T+1.txt").read_text(encoding="utf-8")
    assert "Đã gửi rồi thì không cần làm gì" in missing
    assert not (home.outbox / "01" / "nhac_nho_2026_T+1.txt").exists()
    assert len(list(home.outbox.glob("*/nhac_nho_*"))) == 33


@pytest.mark.slow
@AROUND_THE_DUE_DATE
def test_operators_are_mailed_the_late_provinces_once_when_configured(home, db, monkeypatch,
                                                                       fake_smtp):
    """Contract §9: off unless configured; then one mail when the T+1 notices are written,
    naming each late province, and none while the notices stay unchanged."""
    from ingest.outbox import reminders

    monkeypatch.setenv("LHPN_TODAY", "2026-12-16")
    lhpn("run", "-q", "--no-samples")
    assert reminders.write_reminders()["notified"] is False and fake_smtp == []  # off
    for notice in home.outbox.glob("*/nhac_nho_*"):
        notice.unlink()
    monkeypatch.setenv("LHPN_NOTIFY_TO", "truc.ban@hoilhpn.example")
    monkeypatch.setenv("LHPN_SMTP_HOST", "smtp.hoilhpn.example")
    done = reminders.write_reminders()
    assert done["written"] == 34 and done["notified"] is True
    [(_, to, subject, body)] = [m for m in fake_smtp if m[0] == "message"]
    assert to == "truc.ban@hoilhpn.example" and "34 tỉnh quá hạn / provinces late: 2026" in subject
    assert "68 Lâm Đồng: chưa gửi / missing (hạn / due 15/12/2026)" in body
    assert reminders.write_reminders()["notified"] is False  # unchanged notices: no new mail
    assert len([m for m in fake_smtp if m[0] == "message"]) == 1
