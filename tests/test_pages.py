"""The pages of contract §8 in site/: built from the bundled samples plus a resubmission and a
tie, through the real pipeline and dbt, then read back as HTML and compared with the marts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest import warehouse
from tests.loaded import RUN_ID

# every test reads the one loaded warehouse (tests/conftest.py), on one worker
pytestmark = pytest.mark.xdist_group("loaded_warehouse")

class Page(HTMLParser):
    """Links, ids, elements with data-* attributes and chart specs of one HTML file."""

    def __init__(self, text: str):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.data: list[dict] = []  # attributes of every element with data-*
        self.specs: dict[str, dict] = {}
        self.meta_charset = None
        self._spec_target = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for name in ("href", "src"):
            if a.get(name) is not None:
                self.links.append((tag, a[name]))
        if tag == "meta" and "charset" in a:
            self.meta_charset = a["charset"]
        if any(k.startswith("data-") for k in a):
            self.data.append({"tag": tag, **a})
        if tag == "script" and a.get("class") == "chart-spec":
            self._spec_target = a["data-target"]

    def handle_data(self, data):
        if self._spec_target:
            self.specs[self._spec_target] = json.loads(data)
            self._spec_target = None


def parse(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def bi_rows(sql: str, **params) -> list[dict]:
    with psycopg.connect(warehouse.bi_url()) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def number(text: str) -> float | None:
    return None if text in ("", None) else float(text)


@pytest.fixture
def site(loaded_warehouse) -> Path:
    """The pages of the shared loaded warehouse (tests/conftest.py): the samples (9 provinces,
    one rejected file), a second version for Quảng Ngãi and a tie in the 2024 ranking, loaded by
    the pipeline; marts built; pages built by run RUN_ID (dbt docs apart)."""
    return loaded_warehouse.site


def html_files(site: Path) -> list[Path]:
    return [p for p in site.rglob("*.html") if "dbt" not in p.relative_to(site).parts]


def test_every_link_resolves_to_a_file_inside_the_site(site):
    pages = html_files(site)
    assert len(pages) >= 12  # index, dashboard, validation, 9 provinces
    for page in pages:
        parsed = parse(page)
        for tag, link in parsed.links:
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, f"{page}: {tag} → {link}"
            if not parts.path:  # same-page anchor
                assert parts.fragment in parsed.ids, f"{page}: no #{parts.fragment}"
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.is_relative_to(site.resolve()), f"{page}: {link} leaves site/"
            assert target.is_file(), f"{page}: {link} → missing {target}"


def test_pages_are_utf8_nfc_with_vietnamese_fonts(site):
    css = (site / "assets" / "site.css").read_text(encoding="utf-8")
    assert '"Noto Sans"' in css and "sans-serif" in css
    assert "url(" not in css  # no web font fetched from anywhere
    for page in html_files(site):
        text = page.read_text(encoding="utf-8")
        assert parse(page).meta_charset == "utf-8"
        assert unicodedata.normalize("NFC", text) == text, page
    dashboard = (site / "dashboard.html").read_text(encoding="utf-8")
    assert "Duyên hải miền Trung và Tây Nguyên" in dashboard
    assert (site / "assets" / "plotly.min.js").stat().st_size > 1_000_000


def test_index_says_when_and_from_which_run_each_part_was_built(site):
    page = parse(site / "index.html")
    parts = {d["data-part"] for d in page.data if "data-part" in d}
    assert parts == {"dashboard", "validation", "dbt_docs", "provinces"}
    text = (site / "index.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr data-part="(\w+)">(.*?)</tr>', text, re.S))
    for part in ("dashboard", "validation", "provinces"):
        assert RUN_ID in rows[part]
    assert RUN_ID not in rows["dbt_docs"] and "not built" in rows["dbt_docs"]
    manifest = json.loads((site / "build.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == RUN_ID
    assert {"dashboard", "provinces", "validation"} <= set(manifest["parts"])


def test_a_province_page_for_every_province_with_a_submission(site, warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        sent = {r[0] for r in conn.execute("select distinct province_code from raw.submissions")}
    assert len(sent) == 9
    assert {p.stem for p in (site / "province").glob("*.html")} == sent
    index_links = {link for _, link in parse(site / "index.html").links}
    assert {f"province/{code}.html" for code in sent} <= index_links


def test_province_page_lists_versions_and_open_errors(site):
    quang_ngai = parse(site / "province" / "51.html")
    files = [d for d in quang_ngai.data if d["tag"] == "tr" and "data-submission" in d]
    assert len(files) == 2
    assert sum("current" in d["class"] for d in files) == 1
    assert any("superseded" in d["class"] for d in files)
    ninh_binh = (site / "province" / "37.html").read_text(encoding="utf-8")
    assert "Lỗi cần sửa / Open errors" in ninh_binh
    errors = bi_rows("select sheet, excel_row, column_header, value from marts.validation_findings"
                     " where province_code = '37' and severity = 'error' and is_open")
    assert errors
    for e in errors:
        assert f"<td>{e['column_header']}</td>" in ninh_binh
        assert f"<td>{e['value']}</td>" in ninh_binh
    assert "0900000000" not in ninh_binh and "Người lập" not in ninh_binh


def test_dashboard_scorecards_equal_the_marts(site):
    page = parse(site / "dashboard.html")
    shown = {(d["data-province"], d["data-period"], d["data-term"]): d
             for d in page.data if d["tag"] == "tr" and "data-term" in d}
    # each province's latest period, dated by the file versions mart (independently of the page)
    latest = bi_rows("""
        select distinct on (s.province_code, s.province_name) s.*
        from marts.term_scorecard s
        join marts.submission_versions v
          on v.province_code = s.province_code and v.period = s.period and v.is_current
        order by s.province_code, s.province_name, v.period_end_date desc""")
    assert set(shown) == {(r["province_code"], r["period"], r["term"]) for r in latest}
    met = {(d["data-province"], d["data-period"]): (int(d["data-met"]), int(d["data-total"]))
           for d in page.data if "data-met" in d}
    for r in latest:
        assert met[(r["province_code"], r["period"])] == (r["indicators_met"],
                                                          r["indicators_total"])
    cells = [d for d in page.data if "data-indicator" in d]
    attainment = {(r["province_code"], r["period"], r["indicator_code"]): r for r in bi_rows(
        "select * from marts.term_indicator_attainment")}
    assert len(cells) == sum(r["indicators_total"] for r in latest)
    for cell in cells:
        mart = attainment[(cell["data-province"], cell["data-period"], cell["data-indicator"])]
        assert cell["data-status"] == mart["status"]
        assert number(cell["data-attainment"]) == (
            None if mart["attainment_pct"] is None else float(mart["attainment_pct"]))
    chart = page.specs["chart-scorecards"]
    labels = {tuple(t["y"]) for t in chart["data"]}
    assert len(labels) == 1 and len(next(iter(labels))) == len(latest)


def test_dashboard_rankings_equal_the_marts(site):
    page = parse(site / "dashboard.html")
    ranking = bi_rows("select * from marts.emulation_ranking"
                      " where score is not null and cluster_code is not null"
                      " order by year, cluster_code, rank_in_cluster, province_code")
    expected = defaultdict(list)
    for r in ranking:
        expected[(r["cluster_name"], str(r["year"]))].append(r)
    drawn = {}
    for target, spec in page.specs.items():
        if target.startswith("chart-cluster-"):
            cluster = spec["layout"]["title"]["text"].rsplit(" — ", 1)[0]
            for trace in spec["data"]:
                drawn[(cluster, trace["name"])] = trace
    assert set(drawn) == set(expected)
    for key, rows in expected.items():
        trace = drawn[key]
        assert trace["x"] == [float(r["score"]) for r in rows]
        assert [int(t.split(".")[0]) for t in trace["y"]] == [r["rank_in_cluster"] for r in rows]
        leaders = [y for y in trace["y"] if y.endswith("★")]
        assert len(leaders) == sum(r["cluster_role"] == "truong" for r in rows)


def test_dashboard_poverty_sums_equal_the_marts(site):
    """The dashboard adds nothing up: each cell is a mart row (region and cluster sums from
    poverty_support_rollups, provinces from poverty_support_by_province_2025), with its
    completeness; a partial sum is marked and kept off the chart's line."""
    page = parse(site / "dashboard.html")
    cells = [d for d in page.data if "data-group" in d]
    assert cells
    shown = sorted((d["data-group"], d["data-period"], number(d["data-households"]),
                    number(d["data-rate"]), d["data-reported"], d["data-expected"],
                    d["data-complete"]) for d in cells)  # a region and a cluster may share a name
    rows = bi_rows("""
            select group_name as grp, period, households_out_of_poverty, out_of_poverty_rate_pct,
                   units_reported, units_expected, is_complete
            from marts.poverty_support_rollups where period_kind = 'annual'
            union all
            select province_name_2025, period, households_out_of_poverty,
                   out_of_poverty_rate_pct, units_reported, units_expected, is_complete
            from marts.poverty_support_by_province_2025 where period_kind = 'annual'""")
    assert shown == sorted((
        r["grp"], r["period"], float(r["households_out_of_poverty"]),
        float(r["out_of_poverty_rate_pct"]), str(r["units_reported"]), str(r["units_expected"]),
        "true" if r["is_complete"] else "false") for r in rows)
    partial = [r for r in rows if not r["is_complete"]]
    assert partial  # the samples leave merged provinces partly reported
    lines = defaultdict(list)
    for t in page.specs["chart-poverty-households"]["data"]:
        if "partial" not in t["name"]:
            lines[t["name"]].append(dict(zip(t["x"], t["y"], strict=True)))
    for r in partial:  # no line drawn to a partial sum
        assert any(line.get(r["period"], 0) is None for line in lines[r["grp"]]), r
    # the roll-up itself: the reported old provinces add up to the per-province mart
    for r in bi_rows("""
            select p.province_code_2025, p.period, sum(p.households_out_of_poverty) as h,
                   count(*) as n, r.households_out_of_poverty as rolled, r.units_reported
            from marts.poverty_support_outcomes p
            join marts.poverty_support_by_province_2025 r using (province_code_2025, period)
            group by 1, 2, 5, 6"""):
        assert (r["h"], r["n"]) == (r["rolled"], r["units_reported"])


def test_status_grid_equals_the_marts(site):
    page = parse(site / "dashboard.html")
    rows = bi_rows("select * from marts.submission_status")
    spans = [d for d in page.data if d["tag"] == "span" and "data-state" in d]
    assert len(spans) == len(rows)
    expected = defaultdict(int)
    for r in rows:
        if r["status"] in ("missing", "not_due"):
            state = r["status"]  # nothing received: overdue, or not due yet (contract §4)
        elif r["status"] == "rejected":
            state = "rejected"
        else:
            state = "late" if r["on_time"] is False else "on_time"
        expected[(state, r["status"] == "accepted_with_warnings")] += 1
    drawn = defaultdict(int)
    for d in spans:
        drawn[(d["data-state"], d["data-warnings"] == "true")] += 1
    assert drawn == expected
    assert expected[("rejected", False)] == 1 and expected[("late", False)] >= 1


def test_round_panel_and_headline_equal_the_rounds_mart(site):
    """Contract §8, §9: the headline "provinces reporting this round x/34" and one panel per open
    round, as marts.reporting_rounds counts them."""
    page = parse(site / "dashboard.html")
    rounds = bi_rows("select * from marts.reporting_rounds")
    [current] = [r for r in rounds if r["is_current"]]
    [tile] = [d for d in page.data if d.get("id") == "round-headline"]
    assert (tile["data-period"], tile["data-accepted"], tile["data-expected"]) == (
        current["period"], str(current["accepted"]), str(current["provinces_expected"]))
    assert current["provinces_expected"] == 34  # every round from 2025 on: the 34 provinces
    panels = {d["data-period"] for d in page.data
              if d["tag"] == "div" and "round" in d.get("class", "").split()}
    assert panels == {r["period"] for r in rounds if r["is_open"]}
    text = (site / "dashboard.html").read_text(encoding="utf-8")
    assert f'{current["accepted"]}/{current["provinces_expected"]}</span>' in text


def test_chart_specs_are_valid_plotly_figures(site):
    import plotly.graph_objects as go

    checked = 0
    for page in [site / "dashboard.html", *sorted((site / "province").glob("*.html"))]:
        for spec in parse(page).specs.values():
            go.Figure(spec)  # raises on any property plotly.js does not know
            checked += 1
    assert checked >= 10


def test_ties_and_roles_are_visible_on_the_bars():
    from ingest.pages.charts import cluster_ranking

    rows = [{"province_name": n, "score": s, "max_score": 100, "rank_in_cluster": k,
             "cluster_role": role}
            for n, s, k, role in [("Gia Lai", 90, 1, "truong"), ("Quảng Ngãi", 80, 2, "pho"),
                                  ("Phú Yên", 80, 2, None), ("Kon Tum", 70, 4, None)]]
    spec = cluster_ranking("Duyên hải miền Trung và Tây Nguyên", {2023: rows})
    trace = spec["data"][0]
    assert trace["y"] == ["1. Gia Lai ★", "2. Quảng Ngãi ☆", "2. Phú Yên", "4. Kon Tum"]
    assert trace["text"] == ["#1 · 90", "#2 = · 80", "#2 = · 80", "#4 · 70"]
    assert len(set(trace["marker"]["color"])) == 3


def test_validation_page_moved_into_the_site(site, warehouse_url):
    from ingest.settings import home

    assert not (home().reports / "docs" / "index.html").exists()
    page = (site / "validation.html").read_text(encoding="utf-8")
    with psycopg.connect(warehouse_url) as conn:
        findings = conn.execute("select count(*) from audit.validation_results").fetchone()[0]
        rejected = conn.execute("select source_file from raw.submissions"
                                " where outcome = 'rejected'").fetchall()
        by_rule = conn.execute("select rule, severity, count(*), count(distinct submission_id)"
                               " from audit.validation_results group by rule, severity").fetchall()
    assert findings and len(set(re.findall(r'data-finding="(\d+)"', page))) == findings
    assert rejected[0][0] in page and "out_of_poverty_gt_poor" in page
    # the table by rule counts every finding and file of the files listed (all of them here)
    table = page.split('<table id="by-rule">')[1].split("</table>")[0]
    rows = re.findall(r'<td>([\w.]+)</td><td>(\w+)</td><td class="num">(\d+)</td>'
                      r'<td class="num">(\d+)</td>', table)
    assert sorted((r, s, int(n), int(f)) for r, s, n, f in rows) == sorted(by_rule)
    assert [int(n) for _r, _s, n, _f in rows] == sorted((int(n) for *_x, n, _f in rows),
                                                       reverse=True), "most findings first"


def test_lhpn_docs_prints_the_index_path(site):
    from click.testing import CliRunner

    from ingest.cli import main as cli

    result = CliRunner().invoke(cli.main, ["docs", "--no-dbt-docs"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(site / "index.html")


@pytest.mark.slow
def test_dbt_docs_open_offline_and_are_regenerated_only_when_the_project_changed(site):
    from click.testing import CliRunner

    from ingest.cli import main as cli
    from ingest.pages.site import build_site

    result = CliRunner().invoke(cli.main, ["docs"])
    assert result.exit_code == 0, result.output
    page = site / "dbt" / "index.html"
    parsed = parse(page)
    for tag, link in parsed.links:
        assert not re.match(r"(https?:)?//", link), f"dbt docs {tag} fetches {link}"
    text = page.read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in text and "default-src 'none'" in text
    assert "poverty_support_by_province_2025" in text  # manifest and catalog embedded
    assert "Provincial reports warehouse" in text  # the project's own overview, not dbt's
    built = json.loads((site / "build.json").read_text())["parts"]["dbt_docs"]
    assert built["run_id"] == RUN_ID
    mtime = page.stat().st_mtime_ns
    build_site()  # a routine rebuild: the dbt project did not change
    assert page.stat().st_mtime_ns == mtime
    assert "dbt/index.html" in {link for _, link in parse(site / "index.html").links}


@pytest.mark.external
def test_in_a_real_browser_the_charts_draw_offline(site, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("Chromium is not installed (apt-get install chromium) – browser check skipped")
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000", "--dump-dom",
         (site / "dashboard.html").as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    # plotly.js replaced each chart <div> with its drawing
    assert result.stdout.count('class="chart js-plotly-plot"') == len(
        parse(site / "dashboard.html").specs)


def test_pages_read_the_marts_as_bi_reader(site, monkeypatch):
    from importlib import resources

    from ingest.pages import site as site_module

    users = []
    real = site_module.read_site_data

    def spy(conn):
        users.append(conn.execute("select current_user").fetchone()[0])
        return real(conn)

    monkeypatch.setattr(site_module, "read_site_data", spy)
    site_module.build_site(RUN_ID, dbt_docs_refresh=False)
    assert users == ["bi_reader"]
    for sql in (resources.files("ingest") / "sql" / "queries").iterdir():
        if sql.name.startswith("site_"):
            assert not re.search(r"\b(raw|audit|staging|intermediate)\.", sql.read_text()), sql


PHONE = 390


@pytest.mark.slow
@pytest.mark.external
def test_every_page_fits_a_phone_screen(site, tmp_path):
    """Contract §8: at 390 px no page scrolls sideways (charts take the card's width, tables
    scroll inside their card). Screenshots at 390 and 1400 px are left in tmp_path."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("Chromium is not installed (apt-get install chromium) – phone check skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pages = sorted(site.rglob("*.html"))
    assert {"index.html", "dashboard.html", "validation.html"} <= {p.name for p in pages}
    widths = {}
    with sync_api.sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        try:
            view = chromium.new_page(viewport={"width": PHONE, "height": 844})
            for page in pages:
                # each page loaded at the phone's width, then seen again at 1400 px (one load)
                view.set_viewport_size({"width": PHONE, "height": 844})
                view.goto(page.as_uri())
                view.wait_for_load_state("load")
                for width in (PHONE, 1400):
                    if width != PHONE:
                        view.set_viewport_size({"width": width, "height": 844})
                    view.wait_for_function(
                        "document.querySelectorAll('script.chart-spec').length === "
                        "document.querySelectorAll('.js-plotly-plot').length")
                    name = str(page.relative_to(site))
                    widths[width, name] = view.evaluate(  # dbt docs size the body, not the page
                        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
                    view.screenshot(path=str(tmp_path / f"{name.replace('/', '_')}-{width}.png"))
            view.close()
        finally:
            chromium.close()
    wide = {name: w for (width, name), w in widths.items() if width == PHONE and w > PHONE}
    assert not wide, f"pages wider than a {PHONE} px phone: {wide}"
    assert len(widths) == 2 * len(pages)


def test_a_receipt_links_the_province_page_copied_into_its_outbox(site):
    """Contract §3, §6: the clerk opens her province's page from her outbox folder alone."""
    from ingest.settings import home

    outbox = home().outbox
    receipts = sorted((outbox / "51").glob("*.receipt.txt"))
    assert receipts, list(outbox.rglob("*"))
    for receipt in receipts:
        link = re.search(r"^Trang của tỉnh: (.+)$", receipt.read_text("utf-8"), re.M)[1]
        page = (receipt.parent / link).resolve()
        assert page == (outbox / "51" / "trang_tinh.html").resolve()
    parsed = parse(page)
    assert parsed.specs, "the copy draws its charts"
    for tag, link in parsed.links:  # every href/src: an anchor of the page itself
        assert link.startswith("#") and link[1:] in parsed.ids, (tag, link)
    text = page.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in text  # plotly.js and the chart loader are inside the page
    assert 'data-period="2024"' in text  # the province's own figures


def test_dashboard_opens_with_the_headline_figures_of_the_marts(site):
    page = parse(site / "dashboard.html")
    tiles = {d["data-tile"]: d for d in page.data if "data-tile" in d}
    [latest] = bi_rows("select * from marts.headline_figures order by period_end_date desc "
                       "limit 1")
    households = bi_rows("""select sum(households_out_of_poverty) as n,
                                   count(*) filter (where is_complete)
                                   as complete
                            from marts.poverty_support_by_province_2025
                            where period = %(period)s""", period=latest["period"])[0]
    assert number(tiles["households"]["data-households"]) == float(households["n"])
    assert number(tiles["households"]["data-complete"]) == households["complete"]
    met = bi_rows("select sum(indicators_met) as met, sum(indicators_total) as total "
                  "from marts.term_scorecard where period = %(period)s", period=latest["period"])
    assert (number(tiles["indicators_met"]["data-headline-met"]),
            number(tiles["indicators_met"]["data-headline-total"])) == (met[0]["met"],
                                                                        met[0]["total"])
    assert number(tiles["charity_homes"]["data-homes"]) == float(latest["charity_homes"])
    text = (site / "dashboard.html").read_text(encoding="utf-8")
    assert text.index('id="headline"') < text.index('id="scorecards"')  # figures first

