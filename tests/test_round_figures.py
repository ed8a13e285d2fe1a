"""The figures of a real reporting round (issue 18): the official template filled as an office
fills it scores the province's own indicators ("7/8", not "7/12") in the mart, the receipt and
the province page; sums over provinces say how complete they are ("1/3 tỉnh") and are never drawn
as a fall; a yearly sum over the annual relation does not count the half-year twice."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from psycopg.rows import dict_row

from ingest import pipeline, template
from ingest.cli import main as cli
from ingest.marts.build import refresh_marts
from ingest.outbox import receipts
from ingest.pages.site import build_site
from ingest.reference import indicators_of
from tests.test_template import columns, data_rows, fill, type_into
from tests.workbooks import POVERTY, TERM, drop, report

OWN = [f"CT{n:02d}" for n in range(1, 9)]  # the eight indicators of Lâm Đồng's resolution
BLANK = [f"CT{n:02d}" for n in range(9, 13)]


def fetch(db, sql: str, *params) -> list[dict]:
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def build(db) -> None:
    """What `lhpn run` does after loading: the marts (what the load made stale), the receipts
    that quote them, the pages."""
    assert refresh_marts()["plan"] != "none"
    receipts.refresh_receipts(db)
    build_site(dbt_docs_refresh=False)


def lhpn_template(home, code: str, period: str, name: str):
    path = home.inbox / code / name
    path.parent.mkdir(parents=True, exist_ok=True)
    result = CliRunner().invoke(cli.main, ["template", code, period, "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def fill_indicators(path, values: dict[str, tuple[float | None, float | None]]) -> None:
    """Type targets and results into ChiTieu as a clerk does: (target, result) per code, None
    left empty; a target already pre-filled is kept when given as ...; other rows untouched."""
    wb = load_workbook(path)
    ws = wb["ChiTieu"]
    col = columns(ws, TERM)
    for r in data_rows(ws, TERM):
        code = ws.cell(r, col["indicator_code"]).value
        if code not in values:
            continue
        target, result = values[code]
        if target is not ...:
            type_into(ws, r, col["target_value"], target)
        type_into(ws, r, col["actual_value"], result)
    wb.save(path)


def values_of(met: int, not_met: list[str] = (), unreported: list[str] = ()) -> dict:
    """Targets and results for the eight own indicators: met (result ≥ target) unless listed."""
    catalogue = indicators_of("term")
    out = {}
    for code in OWN:
        percent = catalogue[code].value_type == "percent"
        lower = catalogue[code].direction == "lower"
        target = 0.9 if percent else 1000
        good = (0.95 if percent else 1100) if not lower else (0.8 if percent else 900)
        bad = (0.7 if percent else 600) if not lower else (0.99 if percent else 1500)
        out[code] = (target, None if code in unreported else bad if code in not_met else good)
    assert sum(1 for c in OWN if c not in not_met and c not in unreported) == met
    return out


class Page(HTMLParser):
    """The scorecard rows of a province page (data-period, data-met, data-total) and the cells
    of its scorecard table."""

    def __init__(self, text: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = self._row = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("class") == "scorecards":
            self._in_table = True
        elif tag == "tr" and self._in_table and "data-period" in a:
            self._row = []
            self.rows.append(self._row)

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is not None and data.strip():
            self._row.append(data.strip())


@pytest.mark.slow
def test_the_template_filled_as_an_office_fills_it_scores_its_own_indicators(home, db):
    # a fresh warehouse knows nothing of Lâm Đồng: the template lists the whole catalogue
    path = lhpn_template(home, "68", "2025", "BaoCao_68_2025.xlsx")
    ws = load_workbook(path)["ChiTieu"]
    col = columns(ws, TERM)
    assert [ws.cell(r, col["indicator_code"]).value for r in data_rows(ws, TERM)] == OWN + BLANK
    fill(path, keep_targets=True)  # ThongTin, ThiDua, GiamNgheo; ChiTieu is typed below
    wb = load_workbook(path)
    ws = wb["ChiTieu"]
    for r in data_rows(ws, TERM):  # fill() typed every row: the clerk blanks her four
        if ws.cell(r, col["indicator_code"]).value in BLANK:
            ws.cell(r, col["target_value"]).value = ws.cell(r, col["actual_value"]).value = None
    wb.save(path)
    fill_indicators(path, values_of(7, not_met=["CT04"]))  # 8 results, one below its target

    [result] = pipeline.process_files(pipeline.list_inbox()).results
    assert result.event == "accepted", result
    assert fetch(db, "select count(*) as n from raw.term_indicators")[0]["n"] == 8
    assert [r["indicator_code"] for r in fetch(
        db, "select indicator_code from raw.skipped_indicator_rows order by excel_row")] == BLANK
    build(db)

    [card] = fetch(db, "select * from marts.term_scorecard where province_code = '68'")
    assert (card["scorecard_label"], card["indicators_total"], card["indicators_met"],
            card["indicators_not_met"], card["indicators_not_reported"]) == ("7/8", 8, 7, 1, 0)
    assert {r["indicator_code"] for r in fetch(
        db, "select indicator_code from marts.term_indicator_attainment")} == set(OWN)

    text = (home.outbox / "68" / "BaoCao_68_2025.xlsx.receipt.txt").read_text("utf-8")
    vi, en = text.split("REPORT RECEIPT\n" + "=" * 72, 1)
    assert "7/8 chỉ tiêu đạt hoặc vượt (1 chưa đạt)" in vi and "7/8 met or exceeded" in en
    assert "7/12" not in text
    skipped = "4 dòng chỉ tiêu để trống đã bỏ qua: CT09, CT10, CT11, CT12"
    assert vi.count(skipped) == 1
    assert en.count("4 blank indicator row(s) skipped: CT09, CT10, CT11, CT12") == 1
    assert "Số dòng đã nhận: ChiTieu 8 dòng" in vi

    page = (home.site / "province" / "68.html").read_text("utf-8")
    [row] = Page(page).rows
    assert row[:6] == ["2025", card["term"], "7/8", str(card["indicators_exceeded"]), "1", "0"]

    # the next report: the template now lists the eight of the resolution, targets pre-filled,
    # and spare rows to add an indicator; one result is not in yet
    path = lhpn_template(home, "68", "2025", "BaoCao_68_2025_lan2.xlsx")
    wb = load_workbook(path)
    ws = wb["ChiTieu"]
    listed = [ws.cell(r, col["indicator_code"]).value for r in data_rows(ws, TERM)]
    assert listed == OWN + [None] * template.SPARE_INDICATOR_ROWS
    spare = data_rows(ws, TERM)[-1]
    assert ws.cell(spare, col["indicator_code"]).protection.locked is False
    guide = " ".join(str(c.value or "") for c in wb["HuongDan"]["A"])
    assert "dòng trống cuối bảng" in guide and "để trống cả" in guide
    fill(path, keep_targets=True)
    fill_indicators(path, {code: (..., result) for code, (_, result) in values_of(
        6, not_met=["CT04"], unreported=["CT06"]).items()})
    [result] = pipeline.process_files(pipeline.list_inbox()).results
    assert result.event == "accepted_with_warnings", result  # §3: a target with no result
    build(db)
    [card] = fetch(db, "select * from marts.term_scorecard where province_code = '68'")
    assert (card["scorecard_label"], card["indicators_not_met"],
            card["indicators_not_reported"]) == ("6/8", 1, 1)  # not reported: apart, counted
    status = {r["indicator_code"]: r["status"] for r in fetch(
        db, "select indicator_code, status from marts.term_indicator_attainment")}
    assert status["CT06"] == "chua_bao_cao" and status["CT04"] == "chua_dat"
    vi = (home.outbox / "68" / "BaoCao_68_2025_lan2.xlsx.receipt.txt").read_text("utf-8")
    assert "6/8 chỉ tiêu đạt hoặc vượt (1 chưa đạt; 1 chưa báo cáo kết quả)" in vi
    assert "chưa báo cáo (chưa có kết quả)" in vi and "bỏ qua" not in vi
    assert "Chỉ tiêu CT06 có 'Chỉ tiêu nhiệm kỳ' nhưng chưa có 'Kết quả lũy kế'" in vi
    [row] = Page((home.site / "province" / "68.html").read_text("utf-8")).rows
    assert row[2] == "6/8" and row[4:6] == ["1", "1"]


@pytest.mark.slow
def test_partial_sums_say_so_and_a_yearly_sum_counts_the_half_year_once(home, db):
    # 2024, before the merger: of Lâm Đồng's three former provinces only Lâm Đồng reports;
    # Bình Thuận reports both its 2024 half-year and its 2024 annual figures
    drop(home.inbox, report("68", "2024", seed=21, sheets=(POVERTY,)))
    drop(home.inbox, report("60", "2024", seed=22, sheets=(POVERTY,)))
    drop(home.inbox, report("60", "2024-6T", seed=23, sheets=(POVERTY,)), "BC_60_2024-6T.xlsx")
    results = pipeline.process_files(pipeline.list_inbox()).results
    assert {r.event for r in results} == {"accepted"}, results
    build(db)

    rollup = {r["period"]: r for r in fetch(
        db, "select * from marts.poverty_support_by_province_2025"
            " where province_code_2025 = '68'")}
    assert (rollup["2024"]["units_reported"], rollup["2024"]["units_expected"],
            rollup["2024"]["is_complete"]) == (2, 3, False)
    assert (rollup["2024-6T"]["units_reported"], rollup["2024-6T"]["units_expected"]) == (1, 3)
    region = {(r["grouping"], r["period"]): r for r in fetch(
        db, "select * from marts.poverty_support_rollups where group_code = 'TN'"
            " or group_name = 'Tây Nguyên'")}
    assert region[("region", "2024")]["is_complete"] is False
    # Tây Nguyên on the 2025 map: Đắk Lắk (+ Phú Yên) and Lâm Đồng (+ Đắk Nông, Bình Thuận)
    assert region[("region", "2024")]["units_expected"] == 5

    vi = (home.outbox / "68" / "BC_68_2024.xlsx.receipt.txt").read_text("utf-8")
    assert "Lâm Đồng (tỉnh từ 01/07/2025), kỳ 2024: 2/3 tỉnh cũ đã báo cáo" in vi
    vi = (home.outbox / "60" / "BC_60_2024-6T.xlsx.receipt.txt").read_text("utf-8")
    assert "kỳ 2024-6T: 1/3 tỉnh cũ đã báo cáo giảm nghèo; số cộng của tỉnh mới chưa đủ" in vi

    # the dashboard draws a partial sum as a hollow point of its own, never on the line
    dashboard = (home.site / "dashboard.html").read_text("utf-8")
    specs = [json.loads(m) for m in re.findall(
        r'<script type="application/json" class="chart-spec"[^>]*>(.*?)</script>', dashboard,
        re.S)]
    traces = [t for s in specs for t in s["data"] if t.get("name", "").startswith("Lâm Đồng")]
    assert traces, "no Lâm Đồng series on the dashboard"
    for trace in traces:
        points = dict(zip(trace["x"], trace["y"], strict=True))
        if "partial" in trace["name"]:
            assert trace["marker"]["symbol"] == "circle-open" and "2/3 tỉnh" in trace["text"]
        else:
            assert points["2024"] is None  # the line does not reach the partial sum
    assert any("partial" in t["name"] for t in traces)
    assert 'data-complete="false"' in dashboard and "2/3 tỉnh*" in dashboard

    # no double counting by year: the annual relation holds the year once
    half = fetch(db, "select households_out_of_poverty as h from marts.poverty_support_outcomes"
                     " where province_code = '60' and period = '2024-6T'")[0]["h"]
    annual = fetch(db, "select households_out_of_poverty as h from marts.poverty_support_outcomes"
                       " where province_code = '60' and period = '2024'")[0]["h"]
    [yearly] = fetch(db, "select extract(year from period_start_date) as y,"
                         " sum(households_out_of_poverty) as h from marts.poverty_support_annual"
                         " where province_code = '60' group by 1")
    assert yearly["h"] == annual and half > 0
    assert fetch(db, "select count(*) as n from marts.poverty_support_half_year")[0]["n"] == 1
    # the mixed relation: its default time column is NULL on the half-year row
    [by_default] = fetch(db, "select sum(households_out_of_poverty) as h"
                             " from marts.poverty_support_outcomes where province_code = '60'"
                             " and extract(year from annual_period_date) = 2024")
    assert by_default["h"] == annual
    for relation in ("poverty_support_outcomes", "poverty_support_by_province_2025",
                     "poverty_support_rollups", "poverty_support_annual",
                     "poverty_support_half_year"):
        [first] = fetch(db, "select column_name, col_description(%s::regclass, ordinal_position)"
                            " as comment from information_schema.columns"
                            " where table_schema = 'marts' and table_name = %s"
                            " and data_type in ('date', 'timestamp with time zone')"
                            " order by ordinal_position limit 1",
                        f"marts.{relation}", relation)
        # the first date column (a BI tool's default time column) cannot count a half twice
        safe = "annual_period_date" if relation in (
            "poverty_support_outcomes", "poverty_support_by_province_2025",
            "poverty_support_rollups") else "period_start_date"
        assert first["column_name"] == safe, relation
        assert first["comment"], relation
