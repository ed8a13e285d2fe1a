"""The `lhpn` command line through its real entry point, on the embedded PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import main as cli

LHPN = [sys.executable, "-m", "ingest.cli.main"]


def lhpn(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*LHPN, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_first_run_processes_the_samples_and_prints_the_summary(home, db):
    result = lhpn("run")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "10 báo cáo mẫu" in out  # the empty inbox was filled with the samples
    assert "[10/10]" in out  # a progress line per file
    assert "7/8" in out  # Quảng Ngãi's sample scorecard
    assert "Duyên hải miền Trung và Tây Nguyên" in out
    # cluster roles by their dbt labels, never the raw codes
    assert "Cụm trưởng / Cluster leader" in out, out
    assert not {"truong", "pho"} & set(out.split())
    assert "bi_reader@" in out
    assert list(home.inbox.rglob("*.*")) == []
    # every sample has its receipt, and after the marts build they quote the marts
    assert str(home.outbox) in out
    assert str(home.site / "index.html") in out
    assert len(list(home.outbox.rglob("*.receipt.txt"))) == 10
    assert "7/8 chỉ tiêu đạt hoặc vượt" in (
        home.outbox / "51" / "BC_51_nam_2024.xlsx.receipt.txt").read_text("utf-8")
    assert "BỊ TỪ CHỐI" in (home.outbox / "37" / "BC_37_nam_2024.xlsx.receipt.txt").read_text(
        "utf-8")
    received = db.execute("select count(*) from raw.submissions").fetchone()[0]
    assert received == 10
    assert db.execute("select count(*) from marts.term_scorecard").fetchone()[0] >= 8

    # a second run finds nothing new and changes nothing (the same commands in this process)
    again = CliRunner().invoke(cli.main, ["run"])
    assert again.exit_code == 0, (again.output, again.exception)
    assert "0 tệp" in again.stdout
    assert "báo cáo mẫu" not in again.stdout
    assert db.execute("select count(*) from raw.submissions").fetchone()[0] == received

    status = CliRunner().invoke(cli.main, ["status", "--period", "2024"])
    assert status.exit_code == 0, (status.output, status.exception)
    assert "Quảng Ngãi" in status.stdout
    header = next(line for line in status.stdout.splitlines() if "kỳ/period" in line)
    assert "muộn, kể cả chưa gửi/late, incl. missing" in header
    assert not header.rstrip().endswith(" late"), header


def test_template_round_trip(home, db, tmp_path):
    from openpyxl import load_workbook

    result = CliRunner().invoke(cli.main, ["template", "60", "2024", "-o",
                                           str(tmp_path / "t.xlsx")])
    assert result.exit_code == 0, result.output
    wb = load_workbook(tmp_path / "t.xlsx")
    info = {r[0]: r[1] for r in wb["ThongTin"].iter_rows(values_only=True) if r[0]}
    assert info["Mã tỉnh"] == "60" and info["Kỳ báo cáo"] == "2024"
    assert info["Tên tỉnh"] == "Bình Thuận" and info["Nhiệm kỳ"] == "2021-2026"
    # the clerk fills it in
    info_ws = wb["ThongTin"]
    for row in info_ws.iter_rows():
        if row[0].value == "Ngày lập":
            row[1].value = "10/12/2024"
    for row in wb["ChiTieu"].iter_rows(min_row=4, max_row=4 + 11):  # 12 indicators
        row[4].value, row[5].value = "1.000", "1.050"
    for row in wb["ThiDua"].iter_rows(min_row=4, max_row=4 + 7):  # 8 criteria
        row[4].value = row[3].value
    gn = wb["GiamNgheo"]
    gn.cell(4, 2, "Thành phố Phan Thiết")
    for col in range(3, 14):
        gn.cell(4, col, 10)
    target = home.inbox / "60" / "t.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)

    from ingest import pipeline

    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] in (["accepted"], ["accepted_with_warnings"]), \
        summary.results
    counts = db.execute("select (select count(*) from raw.term_indicators),"
                        " (select count(*) from raw.emulation_scores),"
                        " (select count(*) from raw.poverty_support)").fetchone()
    assert counts == (12, 8, 1)


@pytest.mark.parametrize("args,message", [
    (["template", "99", "2024"], "unknown province code"),
    # Bình Thuận merged on 1/7/2025: the refusal names the province it became
    (["template", "60", "2025"], "60 Bình Thuận là một phần của tỉnh 68 Lâm Đồng"),
    (["template", "60", "2024-13T"], "invalid period"),
])
def test_template_bad_arguments_are_usage_errors(args, message, tmp_path):
    result = CliRunner().invoke(cli.main, [*args, "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_run_against_an_unreachable_warehouse_fails_clearly(tmp_path):
    result = lhpn("run", env={"LHPN_WAREHOUSE_URL": "postgresql://nobody@127.0.0.1:1/none",
                              "LHPN_HOME": str(tmp_path)})
    assert result.returncode == cli.EXIT_SYSTEM
    assert "system error" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_every_command_has_help():
    for command in ("run", "status", "template", "warehouse-url", "bi-url"):
        result = CliRunner().invoke(cli.main, [command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_status_before_any_build_says_what_to_do(monkeypatch, warehouse_url):
    from ingest import warehouse

    empty = warehouse.server_url("lhpn_no_marts")  # a fresh warehouse database, never built
    monkeypatch.setenv("LHPN_WAREHOUSE_URL", empty)
    result = CliRunner().invoke(cli.main, ["status"])
    assert result.exit_code == 0, result.output
    assert "run `lhpn run` first" in result.output


def test_installed_console_script_exists():
    script = Path(sys.executable).parent / "lhpn"
    assert script.exists()
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "lhpn" in out.stdout
