"""The dbt marts (contract §4, §7), built once per module from submissions written straight
into the raw tables, then checked value by value."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg.rows import dict_row

from ingest import warehouse
from ingest.marts import build as marts
from ingest.periods import parse_period

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MARTS = ("term_indicator_attainment", "term_scorecard", "emulation_ranking",
         "poverty_support_outcomes", "submission_status")
# Issue 18: one kind of period each (a yearly sum counts a half-year once), and the sums per
# region and cluster with their completeness.
SPLIT_MARTS = ("poverty_support_annual", "poverty_support_half_year", "poverty_support_rollups")
# Marts of the pages (issue 13): what BI may see of files and findings, the 2025 roll-up.
PAGE_MARTS = ("submission_versions", "validation_findings", "poverty_support_by_province_2025",
              "headline_figures")  # issue 20: the dashboard's headline tiles
# Dimensions and the build's stamp (issue 19).
DIMENSION_MARTS = ("provinces", "indicators", "periods", "build_info")
# Vietnam after 1 July 2025 (issue 21): the communes and the outcomes by commune.
COMMUNE_MARTS = ("communes", "poverty_support_by_commune")
# The reporting rounds of contract §9 (issue 18): one row per round, no province columns.
ROUND_MARTS = ("reporting_rounds",)
CRITERIA_MAX = {"TD01": 15, "TD02": 20, "TD03": 20, "TD04": 10, "TD05": 15, "TD06": 10,
                "TD07": 5, "TD08": 5}
_serial = itertools.count(1)

# every test here reads marts built by one dbt build (with its unit tests) of the module
pytestmark = pytest.mark.slow


def vn(text: str) -> datetime:
    """A Vietnam wall-clock time, 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=VN)


@dataclass
class Submission:
    """One file as the ingest would record it: the submissions row and its sheet rows."""

    province_code: str
    period: str | None
    received_at: datetime
    version: int | None = 1
    outcome: str = "accepted"
    status: str | None = None  # defaults to the outcome
    term: str = "2021-2026"
    indicators: list[tuple] = field(default_factory=list)  # (code, target, actual)
    emulation: list[tuple] = field(default_factory=list)  # (code, max, self, reviewed)
    poverty: list[dict] = field(default_factory=list)  # district rows; is_total optional


def insert(conn: psycopg.Connection, sub: Submission) -> int:
    n = next(_serial)
    name = f"{sub.province_code}_{sub.period}_{n}.xlsx"
    submission_id = conn.execute(
        """insert into raw.submissions (sha256, source_file, province_code, archive_path,
               size_bytes, received_at, declared_province_code, period, term, prepared_by,
               contact, sheets, outcome, status, version, error_count)
           values (%s, %s, %s, %s, 1000, %s, %s, %s, %s, 'Nguyễn Thị A', '0900000000',
                   %s, %s, %s, %s, %s)
           returning submission_id""",
        [hashlib.sha256(name.encode()).hexdigest(), name, sub.province_code,
         f"archive/{sub.province_code}/{name}", sub.received_at, sub.province_code, sub.period,
         sub.term, ["ChiTieu", "ThiDua", "GiamNgheo"], sub.outcome, sub.status or sub.outcome,
         sub.version, 1 if sub.outcome == "rejected" else 0],
    ).fetchone()[0]
    for row, (code, target, actual) in enumerate(sub.indicators, start=5):
        conn.execute(
            "insert into raw.term_indicators (submission_id, excel_row, indicator_code,"
            " target_value, actual_value, actual_text) values (%s, %s, %s, %s, %s, %s)",
            [submission_id, row, code, target, actual, None if actual is None else str(actual)])
    for row, (code, max_points, self_points, reviewed) in enumerate(sub.emulation, start=5):
        conn.execute(
            "insert into raw.emulation_scores (submission_id, excel_row, criterion_code,"
            " max_points, self_points, reviewed_points) values (%s, %s, %s, %s, %s, %s)",
            [submission_id, row, code, max_points, self_points, reviewed])
    for row, district in enumerate(sub.poverty, start=5):
        values = dict(district)
        columns = ["submission_id", "excel_row", *values]
        conn.execute(
            f"insert into raw.poverty_support ({', '.join(columns)})"
            f" values ({', '.join(['%s'] * len(columns))})",
            [submission_id, row, *values.values()])
    return submission_id


def scores(deductions: dict[str, tuple[int | None, int | None]] | None = None) -> list[tuple]:
    """Full marks on every criterion except `deductions`: code -> (self, reviewed)."""
    deductions = deductions or {}
    return [(code, top, *deductions.get(code, (top, None))) for code, top in CRITERIA_MAX.items()]


# Sheet ChiTieu of Bình Thuận 2024: 8 indicators, 7 met or exceeded (CT04 not met).
SCORECARD_7_OF_8 = [
    ("CT01", 1000, 1200),     # higher, vuot, 120 %
    ("CT02", 90, 92.5),       # percent indicator, vuot, 102.78 %
    ("CT03", 500, 500),       # dat
    ("CT04", 400, 350),       # chua_dat, 87.5 %
    ("CT05", 20, 25),
    ("CT06", 3000, 3100),
    ("CT07", 95, 96),
    ("CT11", 5, 2),           # lower: fewer weak chapters than the target is vuot
]

SCENARIOS = [
    # Bình Thuận 2024, on time: scorecard, directions, poverty with a total row to ignore.
    Submission("60", "2024", vn("2024-12-10 09:00"), indicators=SCORECARD_7_OF_8, poverty=[
        {"district_name": "Phan Thiết", "poor_households_start": 100,
         "households_out_of_poverty": 30, "female_headed_out_of_poverty": 10,
         "charity_homes": 2, "charity_homes_vnd": 100_000_000, "livelihood_packages": None},
        {"district_name": "Hàm Thuận Bắc", "poor_households_start": 200,
         "households_out_of_poverty": 50, "female_headed_out_of_poverty": None,
         "charity_homes": None, "charity_homes_vnd": 60_000_000},
        {"district_name": "Tuy Phong", "poor_households_start": None,
         "households_out_of_poverty": 20, "charity_homes": 1},
        {"district_name": "Tổng cộng", "is_total": True, "poor_households_start": 999,
         "households_out_of_poverty": 999, "charity_homes": 99, "livelihood_packages": 5},
    ]),
    # Bình Thuận mid-term review: indicators count, poverty rows of a GK period do not.
    Submission("60", "GK-2023", vn("2023-11-02 10:00"), indicators=[("CT11", 5, 6)],
               poverty=[{"district_name": "Phan Thiết", "poor_households_start": 5}]),
    # Hà Nam 2024: version 1 late (20 Dec), then version 2 replaces its values.
    Submission("35", "2024", vn("2024-12-20 08:00"), version=1, status="superseded",
               indicators=[("CT01", 1000, 500), ("CT03", 300, 100)]),
    Submission("35", "2024", vn("2025-01-05 08:00"), version=2,
               outcome="accepted_with_warnings", indicators=[("CT01", 1000, 1100)]),
    # Hà Nam half-year 2025 (before the merger: old code 35), on time; its scorecard sorts
    # before the 2025 annual one by date, though '2025-6T' > '2025' as text.
    Submission("35", "2025-6T", vn("2025-06-10 08:00"), indicators=[("CT01", 1000, 700)],
               poverty=[
        {"district_name": "Phủ Lý", "poor_households_start": 40,
         "households_out_of_poverty": 10}]),
    # Ninh Bình 2025 on the 34 new codes.
    Submission("37", "2025", vn("2025-12-12 08:00"), term="2025-2030",
               indicators=[("CT01", 2000, 2100), ("CT11", 3, 3)], emulation=scores(),
               poverty=[{"district_name": "Hoa Lư", "poor_households_start": 80,
                         "households_out_of_poverty": 20}]),
    # Emulation 2023, cluster Duyên hải miền Trung và Tây Nguyên: 90, 80, 80, 70.
    Submission("64", "2023", vn("2023-12-16 01:00"),  # 15 Dec 18:00 UTC: late in Vietnam
               emulation=scores({"TD01": (15, 5)})),  # reviewed 5 overrides self 15 -> 90
    Submission("51", "2023", vn("2023-12-01 08:00"),
               emulation=scores({"TD02": (10, None), "TD03": (20, 10)})),
    Submission("56", "2023", vn("2023-12-01 08:00"),
               emulation=scores({"TD04": (0, None), "TD05": (5, None)})),
    Submission("66", "2023", vn("2023-12-01 08:00"),
               emulation=scores({"TD01": (0, None), "TD06": (5, None), "TD07": (5, 0),
                                 "TD08": (5, 0)})),
    # A half-year emulation sheet never ranks.
    Submission("49", "2023-6T", vn("2023-06-10 08:00"), emulation=scores()),
    # Quảng Ninh 2024: only a rejected file arrived.
    Submission("22", "2024", vn("2024-12-01 08:00"), version=None, outcome="rejected"),
    # A rejected file whose period could not be read: no status row.
    Submission("48", None, vn("2024-12-01 08:00"), version=None, outcome="rejected"),
]


TODAY = "2026-12-04"  # the marts are judged against LHPN_TODAY: 11 days before the 2026 due date


@pytest.fixture(scope="module")
def built(lhpn_home, warehouse_url) -> Iterator[dict]:
    """Load every scenario into an empty raw schema and build the marts once, on TODAY."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute("truncate raw.submissions, raw.term_indicators, raw.emulation_scores,"
                     " raw.poverty_support restart identity cascade")
        with conn.transaction():
            for sub in SCENARIOS:
                insert(conn, sub)
    before = os.environ.get("LHPN_TODAY")
    os.environ["LHPN_TODAY"] = TODAY
    try:
        yield marts.build_marts(unit_tests=True)
    finally:
        if before is None:
            os.environ.pop("LHPN_TODAY", None)
        else:
            os.environ["LHPN_TODAY"] = before


@pytest.fixture
def q(built, warehouse_url):
    """Run a query against the warehouse; rows as dicts."""
    with psycopg.connect(warehouse_url, row_factory=dict_row) as conn:
        yield lambda sql, params=None: conn.execute(sql, params).fetchall()


def test_build_reports_what_it_ran(built):
    assert built["by_type"]["model"] >= 10
    # seeds load once per data home (another module may have built the marts already)
    assert built["by_type"].get("seed", 0) == (0 if built["seeds_skipped"] else 7)
    assert built["by_type"]["unit_test"] >= 3
    assert built["node_count"] == len(built["nodes"])
    assert set(built["by_status"]) <= {"success", "pass", "no-op", "warn"}
    assert built["seconds"] > 0


def test_routine_builds_leave_unit_tests_to_the_test_suite(built):
    from ingest.marts import build as marts

    routine = marts.build_marts()
    assert "unit_test" not in routine["by_type"]
    assert routine["by_type"]["model"] == built["by_type"]["model"]
    assert routine["by_type"]["test"] == built["by_type"]["test"]


def test_dbt_behavior_flags_name_their_source_as_dbt_common_does():
    """dbt-common names an adapter's behavior flag's source with inspect.stack() (~0.15 s a
    flag, ~1 s of every dbt command); a build names it from the frames' modules instead: the
    first module on the stack outside dbt-common's (here this test's, which makes the flag)."""
    from dbt_common import behavior_flags

    marts._quick_behavior_flags()
    assert behavior_flags.BehaviorFlagRendered._default_source is marts._flag_source
    flag = behavior_flags.BehaviorFlagRendered(
        {"name": "some_flag", "default": False, "description": "a flag"}, {})
    assert flag._behavior_change_event.flag_source == __name__ == "tests.test_marts"


def test_next_build_may_skip_unchanged_seeds(built, warehouse_url):
    assert marts._seeds_current(warehouse_url, marts._seeds_fingerprint())


def test_scorecard_seven_of_eight(q):
    rows = q("select * from marts.term_scorecard where province_code = '60' and period = '2024'")
    assert len(rows) == 1
    card = rows[0]
    assert (card["indicators_total"], card["indicators_met"]) == (8, 7)
    assert card["scorecard_label"] == "7/8"
    assert card["province_name"] == "Bình Thuận"
    assert (card["province_code_2025"], card["province_name_2025"]) == ("68", "Lâm Đồng")


def test_indicator_status_and_attainment(q):
    rows = {r["indicator_code"]: r for r in q(
        "select * from marts.term_indicator_attainment"
        " where province_code = '60' and period = '2024'")}
    assert rows["CT01"]["status"] == "vuot" and rows["CT01"]["attainment_pct"] == Decimal("120")
    assert rows["CT03"]["status"] == "dat"
    assert rows["CT04"]["status"] == "chua_dat"
    assert rows["CT04"]["attainment_pct"] == Decimal("87.5")
    assert rows["CT04"]["indicator_name"] == "Hỗ trợ phụ nữ khởi nghiệp khởi sự kinh doanh"


def test_percent_indicator(q):
    (ct02,) = q("select * from marts.term_indicator_attainment"
                " where province_code = '60' and period = '2024' and indicator_code = 'CT02'")
    assert ct02["unit"] == "%"
    assert ct02["actual_value"] == Decimal("92.5")
    assert ct02["attainment_pct"] == Decimal("102.78")
    assert ct02["status"] == "vuot"


def test_lower_indicator_is_the_mirror_image(q):
    rows = {(r["province_code"], r["period"]): r for r in q(
        "select * from marts.term_indicator_attainment where indicator_code = 'CT11'")}
    assert rows[("60", "2024")]["direction"] == "lower"
    assert rows[("60", "2024")]["status"] == "vuot"        # 2 weak chapters, target 5
    assert rows[("60", "GK-2023")]["status"] == "chua_dat"  # 6 > 5
    assert rows[("37", "2025")]["status"] == "dat"
    assert all(r["attainment_pct"] is None for r in rows.values())


def test_resubmission_replaces_values_and_keeps_version_one(q):
    rows = q("select * from marts.term_indicator_attainment"
             " where province_code = '35' and period = '2024'")
    assert [(r["indicator_code"], r["actual_value"], r["version"]) for r in rows] == [
        ("CT01", Decimal("1100"), 2)]
    assert rows[0]["status"] == "vuot"
    raw = q("select s.version, t.actual_value from raw.term_indicators t"
            " join raw.submissions s using (submission_id)"
            " where s.province_code = '35' and s.period = '2024' and t.indicator_code = 'CT01'"
            " order by s.version")
    assert [(r["version"], r["actual_value"]) for r in raw] == [(1, 500), (2, 1100)]


def test_pre_merger_province_rolls_up_to_2025_map(q):
    (row,) = q("select * from marts.term_scorecard"
               " where province_code = '35' and period = '2024'")
    assert (row["province_name"], row["province_code_2025"], row["province_name_2025"]) == (
        "Hà Nam", "37", "Ninh Bình")
    (half,) = q("select * from marts.poverty_support_outcomes where period = '2025-6T'")
    assert (half["province_code"], half["province_name"], half["province_code_2025"]) == (
        "35", "Hà Nam", "37")


def test_2025_submission_uses_new_codes(q):
    (row,) = q("select * from marts.term_scorecard where period = '2025'")
    assert (row["province_code"], row["province_name"]) == ("37", "Ninh Bình")
    assert (row["province_code_2025"], row["province_name_2025"]) == ("37", "Ninh Bình")
    assert row["term"] == "2025-2030" and row["scorecard_label"] == "2/2"
    (rank,) = q("select * from marts.emulation_ranking where year = 2025")
    assert (rank["cluster_name"], rank["score"], rank["rank_in_cluster"]) == (
        "Đồng bằng sông Hồng", 100, 1)


def test_cluster_ranking_with_a_tie(q):
    rows = q("select * from marts.emulation_ranking where year = 2023 order by province_code")
    by_code = {r["province_code"]: r for r in rows}
    assert set(by_code) == {"51", "56", "64", "66"}  # the half-year sheet of 49 never ranks
    assert {r["cluster_name"] for r in rows} == {"Duyên hải miền Trung và Tây Nguyên"}
    assert {c: (r["score"], r["rank_in_cluster"]) for c, r in by_code.items()} == {
        "64": (90, 1), "51": (80, 2), "56": (80, 2), "66": (70, 4)}
    assert by_code["64"]["cluster_role"] == "truong"
    assert by_code["51"]["cluster_role"] == "pho"
    assert by_code["56"]["cluster_role"] is None
    assert all(r["max_score"] == 100 and r["score_pct"] == r["score"] for r in rows)


def test_reviewed_points_override_self_points(q):
    (row,) = q("select * from marts.emulation_ranking where province_code = '64'")
    assert (row["self_score"], row["score"], row["criteria_reviewed"]) == (100, 90, 1)
    (row,) = q("select * from marts.emulation_ranking where province_code = '66'")
    assert (row["self_score"], row["score"]) == (80, 70)


def test_poverty_sums_district_rows_only(q):
    (row,) = q("select * from marts.poverty_support_outcomes"
               " where province_code = '60' and period = '2024'")
    assert row["districts_reported"] == 3                # the total row is not a district
    assert row["poor_households_start"] == 300           # 100 + 200, the empty cell skipped
    assert row["households_out_of_poverty"] == 100       # not the 999 written in the total row
    assert row["female_headed_out_of_poverty"] == 10
    assert row["charity_homes"] == 3
    assert row["charity_homes_vnd"] == 160_000_000
    assert row["livelihood_packages"] is None            # empty in every district
    assert row["out_of_poverty_rate_pct"] == Decimal("33.33")
    periods = {r["period"] for r in q("select period from marts.poverty_support_outcomes")}
    assert periods == {"2024", "2025-6T", "2025"}        # GK-2023 is no poverty period


def test_submission_status_expected_periods(q):
    rows = q("select * from marts.submission_status")
    keys = {(r["province_code"], r["period"]) for r in rows}
    scheduled = [r for r in rows if r["is_scheduled"]]
    # every annual and half-year round begun by 4 Dec 2026: up to 2024 and 2025-6T on the 63
    # old codes (6 + 7 rounds), 2025, 2026-6T and 2026 on the 34 new ones, with no 2026 file
    assert len(scheduled) == 63 * 13 + 34 * 3
    assert ("35", "2025") not in keys and ("37", "2025") in keys
    this_year = [r for r in scheduled if r["period"] in ("2026", "2026-6T")]
    assert len({r["province_code"] for r in this_year}) == 34 and len(this_year) == 68
    assert {r["status"] for r in this_year if r["period"] == "2026"} == {"not_due"}
    assert {r["status"] for r in this_year if r["period"] == "2026-6T"} == {"missing"}
    assert not any(r["period"] in ("2027", "2027-6T") for r in rows)
    assert {("60", "GK-2023"), ("35", "2025-6T"), ("49", "2023-6T")} <= keys
    assert all(r["province_name"] for r in rows)
    assert not any(r["period"] is None for r in rows)    # the unreadable rejected file


def test_submission_status_missing_late_and_rejected(q):
    rows = {(r["province_code"], r["period"]): r
            for r in q("select * from marts.submission_status")}
    missing = rows[("01", "2019")]
    assert (missing["received"], missing["status"], missing["on_time"]) == (False, "missing", False)
    assert missing["first_received_at"] is None and missing["latest_version"] is None
    on_time = rows[("60", "2024")]
    assert (on_time["received"], on_time["status"], on_time["on_time"]) == (True, "accepted", True)
    late = rows[("35", "2024")]
    assert (late["status"], late["latest_version"], late["on_time"]) == (
        "accepted_with_warnings", 2, False)
    assert late["first_received_at"] == vn("2024-12-20 08:00")
    assert (late["due_date"], late["days_late"]) == (date(2024, 12, 15), 5)
    assert rows[("64", "2023")]["on_time"] is False      # 01:00 on 16 Dec in Vietnam
    assert rows[("35", "2025-6T")]["on_time"] is True
    assert rows[("60", "GK-2023")]["on_time"] is None    # reviews have no due date
    rejected = rows[("22", "2024")]
    assert (rejected["received"], rejected["status"], rejected["latest_version"]) == (
        True, "rejected", None)
    assert rejected["on_time"] is True                   # its first file came by the due date
    assert (missing["days_late"], missing["status_date"]) == (
        (date(2026, 12, 4) - date(2019, 12, 15)).days, date(2026, 12, 4))


def test_reporting_rounds_count_from_the_status(q):
    rounds = {r["period"]: r for r in q("select * from marts.reporting_rounds")}
    assert len(rounds) == 16                             # 2019-6T .. 2026, annual and half-year
    r2026 = rounds["2026"]
    assert (r2026["provinces_expected"], r2026["not_due"], r2026["received"]) == (34, 34, 0)
    assert (r2026["due_date"], r2026["days_to_due"]) == (date(2026, 12, 15), 11)
    assert r2026["is_open"] and r2026["is_current"] and r2026["reminder_stage"] == "T-14"
    r2024 = rounds["2024"]
    assert (r2024["provinces_expected"], r2024["received"], r2024["accepted"],
            r2024["rejected"], r2024["missing"], r2024["late"]) == (63, 3, 2, 1, 60, 61)
    assert not r2024["is_open"] and r2024["reminder_stage"] is None
    assert [p for p, r in rounds.items() if r["is_current"]] == ["2026"]


def test_every_mart_row_names_its_province(q):
    for mart in MARTS:
        rows = q(f"select province_code, province_name, province_code_2025 from marts.{mart}")
        assert rows, mart
        assert all(r["province_name"] and r["province_code_2025"] for r in rows), mart


def test_no_personal_data_in_marts(q):
    columns = {r["column_name"] for r in q(
        "select column_name from information_schema.columns where table_schema = 'marts'")}
    assert not columns & {"prepared_by", "contact"}


def test_bi_reader_selects_every_mart(built):
    with psycopg.connect(warehouse.bi_url(), autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "bi_reader"
        for mart in MARTS:
            assert conn.execute(f"select count(*) from marts.{mart}").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from staging.stg_raw__submissions")


def test_failed_build_names_the_failed_node(built, home, db):
    """A loaded file from a folder that is no province of its period breaks a test."""
    insert(db, Submission("99", "2024", vn("2024-12-01 08:00"), indicators=[("CT01", 1, 1)]))
    with pytest.raises(marts.MartsError) as failure:
        marts.build_marts(select="term_indicator_attainment")
    assert "not_null_term_indicator_attainment_province_name" in str(failure.value)
    assert failure.value.nodes


def test_every_mart_dates_its_periods_as_the_ingest_does(q):
    """period_kind and the period dates (contract §4) on every mart, equal to ingest.periods."""
    for mart in MARTS:
        rows = q(f"select distinct period, period_kind, period_start_date, period_end_date"
                 f" from marts.{mart}")
        assert rows, mart
        for row in rows:
            period = parse_period(row["period"])
            assert (row["period_kind"], row["period_start_date"], row["period_end_date"]) == (
                period.kind, period.start, period.end), (mart, row)


def test_periods_sort_by_date_not_by_text(q):
    rows = q("select period, period_kind, period_start_date, period_end_date"
             " from marts.term_scorecard order by period_start_date, period_end_date, period")
    assert [r["period"] for r in rows] == ["GK-2023", "2024", "2024", "2025-6T", "2025"]
    dates = {r["period"]: (r["period_kind"], r["period_start_date"], r["period_end_date"])
             for r in rows}
    assert dates["2025-6T"] == ("half_year", date(2025, 1, 1), date(2025, 6, 30))
    assert dates["2025"] == ("annual", date(2025, 1, 1), date(2025, 12, 31))
    # §7: a review is dated 31 December of its year; it spans its review year (see int_periods)
    assert dates["GK-2023"] == ("mid_term", date(2023, 1, 1), date(2023, 12, 31))


def test_bi_reader_sorts_by_period_date(built):
    with psycopg.connect(warehouse.bi_url()) as conn:
        starts = [r[0] for r in conn.execute(
            "select period_start_date from marts.term_scorecard order by 1")]
        ends = [r[0] for r in conn.execute(
            "select period_end_date from marts.poverty_support_outcomes order by 1")]
    assert starts[0] == date(2023, 1, 1) and starts == sorted(starts)
    assert ends == [date(2024, 12, 31), date(2025, 6, 30), date(2025, 12, 31)]


MART_COMMENTS = """
    select c.relname as mart,
           obj_description(c.oid, 'pg_class') as mart_comment,
           a.attname as column_name,
           col_description(c.oid, a.attnum) as column_comment
    from pg_class as c
    inner join pg_namespace as n on n.oid = c.relnamespace
    inner join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where n.nspname = 'marts' and c.relkind in ('r', 'v', 'm', 'p')
    order by c.relname, a.attnum
"""


def test_bi_reader_sees_a_comment_on_every_mart_and_column(built):
    """persist_docs: each YAML description is a comment in pg_description, visible to BI."""
    with psycopg.connect(warehouse.bi_url(), row_factory=dict_row) as conn:
        assert conn.execute("select current_user").fetchone()["current_user"] == "bi_reader"
        rows = conn.execute(MART_COMMENTS).fetchall()
    assert {r["mart"] for r in rows} == (set(MARTS) | set(PAGE_MARTS) | set(SPLIT_MARTS)
                                          | set(COMMUNE_MARTS) | set(ROUND_MARTS)
                                          | set(DIMENSION_MARTS))
    missing = [f"{r['mart']}.{r['column_name']}" for r in rows
               if not (r["column_comment"] or "").strip()]
    assert not missing, f"columns without a description in _marts__models.yml: {missing}"
    assert all((r["mart_comment"] or "").strip() for r in rows)
    comments = {(r["mart"], r["column_name"]): r["column_comment"] for r in rows}
    # doc() blocks are rendered, not copied as Jinja
    assert "30 June" in comments[("term_scorecard", "period_end_date")]
    assert not any("{{" in text for text in comments.values())
    assert "7/8" in comments[("term_scorecard", "scorecard_label")]


def test_cluster_rows_say_whether_a_public_fact_supports_them(q):
    rows = {(r["year"], r["province_code"]): r for r in q("select * from marts.emulation_ranking")}
    gia_lai = rows[(2023, "64")]  # §5: Gia Lai led the central cluster in 2023
    assert (gia_lai["cluster_role"], gia_lai["cluster_source"]) == ("truong", "sourced")
    assert rows[(2023, "56")]["cluster_source"] == "sourced"  # a member, no role
    assert rows[(2025, "37")]["cluster_source"] == "placeholder"  # every 2025 row
    assert rows[(2025, "37")]["period_kind"] == "annual"
    assert rows[(2025, "37")]["period_end_date"] == date(2025, 12, 31)


def test_every_code_has_its_labels_beside_it(q):
    """<code>_label_vi / <code>_label_en beside every code column (contract §4), filled for
    every code a mart holds (one list: macros/labels.sql)."""
    pairs = q("select table_name, column_name from information_schema.columns"
              " where table_schema = 'marts' and column_name like '%\\_label\\_vi'")
    labelled = {(r["table_name"], r["column_name"][:-len("_label_vi")]) for r in pairs}
    assert {("term_indicator_attainment", "status"), ("emulation_ranking", "cluster_role"),
            ("term_scorecard", "period_kind"), ("indicators", "direction")} <= labelled
    for mart, code in sorted(labelled):
        unlabelled = q(f"select distinct {code} as code from marts.{mart} where {code} is not null"
                       f" and ({code}_label_vi is null or {code}_label_en is null)")
        assert not unlabelled, (mart, code, unlabelled)
    statuses = {r["status"]: r["status_label_en"] for r in q(
        "select distinct status, status_label_en from marts.term_indicator_attainment")}
    assert statuses.get("vuot", "Exceeded") == "Exceeded"


def test_facts_reference_the_dimensions_by_key(q):
    """province_key and period of every mart row are keys of marts.provinces / marts.periods,
    and the key tells apart the two provinces a code names across the merger."""
    keyed = q("select table_name from information_schema.columns where table_schema = 'marts'"
              " and column_name = 'province_key' and table_name <> 'provinces'")
    assert {r["table_name"] for r in keyed} >= set(MARTS)
    for mart in [r["table_name"] for r in keyed]:
        orphans = q(f"select distinct province_key from marts.{mart} as f where province_key"
                    f" is not null and not exists (select 1 from marts.provinces as p"
                    f" where p.province_key = f.province_key)")
        assert not orphans, (mart, orphans)
        missing = q(f"select count(*) as n from marts.{mart} where province_key is null"
                    f" and province_name is not null")
        assert missing[0]["n"] == 0, mart
    for mart in MARTS:
        orphans = q(f"select distinct period from marts.{mart} as f where not exists"
                    f" (select 1 from marts.periods as p where p.period = f.period)")
        assert not orphans, (mart, orphans)
    names = {r["province_key"]: r["province_name"] for r in q(
        "select province_key, province_name from marts.provinces where province_code = '52'")}
    assert names == {"52@2024": "Bình Định", "52@2025": "Gia Lai"}
    [info] = q("select * from marts.build_info")
    assert info["built_at"] and info["dbt_version"].startswith("1.11")
    assert info["data_received_up_to"] == q(
        "select max(received_at) as m from marts.submission_versions")[0]["m"]


def test_the_tests_a_selective_build_leaves_out_restate_enforced_constraints(built, q):
    """A full build records the data tests that only restate an enforced constraint of their
    mart; a selective build (one new file) leaves those out, because PostgreSQL itself refuses
    a NULL or duplicate key while the mart is written. Each recorded test's constraint must be
    in the database, and a test no constraint implies must not be recorded."""
    import json

    restated = set(marts._read_stamp()["restated_tests"])
    assert {"unique_combination_term_indicator_attainment_province_code__term__period__"
            "indicator_code", "not_null_submission_status_province_code"} <= restated
    # a column the mart computes for every row is declared not null
    assert "not_null_term_indicator_attainment_status" in restated
    # no constraint behind these: a selective build still runs them
    assert "not_null_term_indicator_attainment_province_name" not in restated
    assert "unique_combination_int_poverty_support_summed_province_code__period" not in restated
    assert not [name for name in restated if not name.startswith(("not_null_", "unique_"))]
    manifest = json.loads((marts._target_path() / "manifest.json").read_text(encoding="utf-8"))
    tests = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    for name in sorted(restated):
        test = tests[name]
        table = manifest["nodes"][test["depends_on"]["nodes"][0]]["alias"]  # the relation
        kwargs = test["test_metadata"]["kwargs"]
        columns = kwargs.get("columns") or [kwargs["column_name"]]
        if test["test_metadata"]["name"] == "not_null":
            nullable = q("select is_nullable from information_schema.columns where"
                         " table_schema = 'marts' and table_name = %s and column_name = %s",
                         [table, columns[0]])
            assert nullable == [{"is_nullable": "NO"}], (name, nullable)
        else:
            keys = q("select array_agg(a.attname::text order by a.attname) as columns"
                     " from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid"
                     " and a.attnum = any(c.conkey)"
                     " where c.conrelid = %s::regclass and c.contype in ('p', 'u')"
                     " group by c.oid", [f"marts.{table}"])
            assert sorted(columns) in [k["columns"] for k in keys], (name, keys)
