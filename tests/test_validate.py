"""Validation (contract §3): one test per rule, the report a clerk gets, and the run end to end.

Workbooks are built in code with `ingest.samples` (messy layout: title rows, merged cells, an STT
column, Vietnamese number text, a blank row inside the table, a total row, notes below). In the
messy layout ThongTin holds Mã tỉnh on row 3, Tên tỉnh 4, Kỳ báo cáo 5, Nhiệm kỳ 6, Ngày lập 7;
a data sheet has its header on row 4 and its data rows on 5, 6, 8, 9, … (a blank row after the
second one).
"""

from __future__ import annotations

import copy
import os
import random
import time
from pathlib import Path

import pandas as pd
import pytest

from ingest import isolated, pipeline, samples
from ingest.model import EMULATION, POVERTY, TERM, Finding, ParsedFile
from ingest.validate import history, rules, suites
from ingest.validate import run as validate
from ingest.validate.report import render_report
from tests.workbooks import parse_workbook as parse


def excel_row(i: int) -> int:
    """Excel row of the i-th data row (0-based) of a messy sheet."""
    return 5 + i + (1 if i >= 2 else 0)


def build(tmp_path: Path, report: samples.Report, folder: str | None = None,
          name: str = "bc.xlsx") -> ParsedFile:
    folder = report.province_code if folder is None else folder
    path = samples.write_xlsx(report, tmp_path / (folder or ".") / name)
    return parse(path, folder)


def checked(*files: ParsedFile, conn=None) -> list[ParsedFile]:
    validate.validate(list(files), conn)
    return list(files)


def found(parsed: ParsedFile, rule: str) -> list[Finding]:
    return [f for f in parsed.findings if f.rule == rule]


def one(parsed: ParsedFile, rule: str) -> Finding:
    hits = found(parsed, rule)
    assert len(hits) == 1, [(f.rule, f.sheet, f.excel_row, f.column) for f in parsed.findings]
    return hits[0]


def assert_place(f: Finding, severity: str, sheet: str, row: int | None, column: str | None,
                 value: str | None, parsed: ParsedFile) -> None:
    assert (f.severity, f.sheet, f.excel_row, f.column, f.value) == (
        severity, sheet, row, column, value)
    assert f.message_vi and f.message_en and f.expected_vi and f.expected_en
    text = render_report(parsed)
    where_vi = " | ".join(p for p in (
        f"Sheet {sheet}", f"dòng {row}" if row else None,
        f'cột "{column}"' if column else None) if p)
    where_en = " | ".join(p for p in (
        f"Sheet {sheet}", f"row {row}" if row else None,
        f'column "{column}"' if column else None) if p)
    assert where_vi in text and where_en in text
    assert f.message_vi in text and f.message_en in text
    assert text.index(f.message_vi) < text.index(f.message_en)  # Vietnamese first


@pytest.fixture
def rng():
    return random.Random(7)


@pytest.fixture
def good(rng):
    """A complete, valid annual report of Bình Thuận (60) for 2024."""
    return samples.random_report(rng, "60", "2024")


# ---------------------------------------------------------------- a valid file passes

def test_valid_reports_have_no_findings(tmp_path, rng):
    files = [
        build(tmp_path, samples.random_report(rng, "60", "2024"), name="a.xlsx"),
        build(tmp_path, samples.random_report(rng, "60", "2025-6T", sheets=(POVERTY,)),
              name="b.xlsx"),
        build(tmp_path, samples.random_report(rng, "68", "2025", sheets=(TERM, POVERTY)),
              name="c.xlsx"),
    ]
    path = samples.write_csv(samples.random_report(rng, "37", "2024", sheets=(TERM,)),
                             tmp_path / "37" / "d.csv")
    files.append(parse(path))
    checked(*files)
    for f in files:
        assert f.findings == [], (f.source_file, f.findings)
        assert f.outcome == "accepted"


# ---------------------------------------------------------------- GX suites: column rules

def test_unknown_indicator_code(tmp_path, good):
    good.term_rows[1]["code"] = "CT99"
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "unknown_code"), "error", "ChiTieu", excel_row(1), "Mã chỉ tiêu",
                 "CT99", parsed)
    assert "CT01" in one(parsed, "unknown_code").expected_vi


def test_unknown_criterion_code(tmp_path, good):
    good.emulation_rows[3]["code"] = "TD42"
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "unknown_code"), "error", "ThiDua", excel_row(3), "Mã tiêu chí",
                 "TD42", parsed)


def test_duplicate_indicator_codes(tmp_path, good):
    good.term_rows[4]["code"] = good.term_rows[0]["code"]
    (parsed,) = checked(build(tmp_path, good))
    hits = found(parsed, "duplicate_key")
    assert sorted(f.excel_row for f in hits) == [excel_row(0), excel_row(4)]
    for f in hits:
        assert_place(f, "error", "ChiTieu", f.excel_row, "Mã chỉ tiêu", "CT01", parsed)


def test_duplicate_districts_ignore_case_and_the_total_row(tmp_path, good):
    good.poverty_rows[5]["district_name"] = good.poverty_rows[2]["district_name"].upper()
    (parsed,) = checked(build(tmp_path, good))
    hits = found(parsed, "duplicate_key")
    assert sorted(f.excel_row for f in hits) == [excel_row(2), excel_row(5)]
    assert {f.column for f in hits} == {"Đơn vị"}


def test_same_codes_in_different_files_are_not_duplicates(tmp_path, rng):
    a = build(tmp_path, samples.random_report(rng, "60", "2024"), name="a.xlsx")
    b = build(tmp_path, samples.random_report(rng, "37", "2024"), name="b.xlsx")
    checked(a, b)
    assert not found(a, "duplicate_key") and not found(b, "duplicate_key")


def test_negative_count(tmp_path, good):
    good.poverty_rows[3]["charity_homes"] = -2
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "negative_value"), "error", "GiamNgheo", excel_row(3),
                 "Mái ấm tình thương (căn)", "-2", parsed)


def test_negative_amount(tmp_path, good):
    good.poverty_rows[0]["policy_loan_outstanding_vnd"] = -1500
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "negative_value"), "error", "GiamNgheo", excel_row(0),
                 "Dư nợ ủy thác (triệu đồng)", "-1.500", parsed)


def test_negative_points(tmp_path, good):
    good.emulation_rows[2]["reviewed"] = -1
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "negative_value"), "error", "ThiDua", excel_row(2),
                 "Điểm cụm thẩm định", "-1", parsed)


def test_count_not_whole(tmp_path, good):
    good.poverty_rows[1]["livelihood_packages"] = 12.5
    (parsed,) = checked(build(tmp_path, good))
    # the total row carries the fraction too, but it is checked against the sum, not as a count
    assert_place(one(parsed, "not_whole"), "error", "GiamNgheo", excel_row(1),
                 "Sinh kế trao tặng (suất)", "12,5", parsed)


def test_count_indicator_not_whole_but_percent_may_be(tmp_path, good):
    good.term_rows[0]["target"] = 1200.5  # CT01 counts members
    good.term_rows[1]["actual"] = "87,5%"  # CT02 is a percent: decimals are fine
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "not_whole"), "error", "ChiTieu", excel_row(0),
                 "Chỉ tiêu nhiệm kỳ", "1.200,5", parsed)


def test_max_points_differ_from_catalogue(tmp_path, good):
    good.emulation_rows[0]["max"] = 20  # TD01 is worth 15
    good.emulation_rows[0]["self"] = 14
    good.emulation_rows[0]["reviewed"] = None
    (parsed,) = checked(build(tmp_path, good))
    f = one(parsed, "max_points_catalogue")
    assert_place(f, "error", "ThiDua", excel_row(0), "Điểm chuẩn", "20", parsed)
    assert f.expected_vi.startswith("15 điểm")


def test_percent_result_over_100_is_a_warning(tmp_path, good):
    good.term_rows[1]["actual"] = "104%"  # CT02, a percent
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "percent_over_100"), "warning", "ChiTieu", excel_row(1),
                 "Kết quả lũy kế", "104%", parsed)
    assert parsed.outcome == "accepted_with_warnings"


def test_province_name_not_matching_code_is_a_warning(tmp_path, good):
    good.province_name = "Hà Nội"
    (parsed,) = checked(build(tmp_path, good))
    f = one(parsed, "province_name_mismatch")
    assert_place(f, "warning", "ThongTin", 4, "Tên tỉnh", "Hà Nội", parsed)
    assert "Bình Thuận" in f.expected_vi


# ---------------------------------------------------------------- rule table: cross-field

def test_out_of_poverty_over_poor_households(tmp_path, good):
    row = good.poverty_rows[4]
    row["households_out_of_poverty"] = row["poor_households_start"] + 40
    row["female_headed_out_of_poverty"] = 0
    (parsed,) = checked(build(tmp_path, good))
    f = one(parsed, "out_of_poverty_gt_poor")
    assert_place(f, "error", "GiamNgheo", excel_row(4), "Hộ thoát nghèo",
                 samples.vn_number(row["poor_households_start"] + 40), parsed)
    assert f.expected_vi.startswith(f"≤ {samples.vn_number(row['poor_households_start'])}")


def test_female_out_of_poverty_over_out_of_poverty(tmp_path, good):
    row = good.poverty_rows[0]
    row["female_headed_poor"] = row["poor_households_start"]
    row["female_headed_out_of_poverty"] = row["households_out_of_poverty"] + 1
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "female_out_gt_out"), "error", "GiamNgheo", excel_row(0),
                 "Hộ PN làm chủ hộ thoát nghèo",
                 samples.vn_number(row["households_out_of_poverty"] + 1), parsed)
    assert not found(parsed, "female_out_gt_female_poor")


def test_female_out_of_poverty_over_female_poor(tmp_path, good):
    row = good.poverty_rows[2]
    row["female_headed_poor"] = 3
    row["female_headed_out_of_poverty"] = 5
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "female_out_gt_female_poor"), "error", "GiamNgheo", excel_row(2),
                 "Hộ PN làm chủ hộ thoát nghèo", "5", parsed)


def test_self_points_over_max(tmp_path, good):
    good.emulation_rows[6]["self"] = 7.5  # TD07 is worth 5
    good.emulation_rows[6]["reviewed"] = None
    (parsed,) = checked(build(tmp_path, good))
    f = one(parsed, "self_points_over_max")
    assert_place(f, "error", "ThiDua", excel_row(6), "Điểm tự chấm", "7,5", parsed)
    assert (f.expected_vi, f.expected_en) == ("từ 0 đến 5", "from 0 to 5")


def test_reviewed_points_over_max(tmp_path, good):
    good.emulation_rows[1]["self"] = 20
    good.emulation_rows[1]["reviewed"] = 21
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "reviewed_points_over_max"), "error", "ThiDua", excel_row(1),
                 "Điểm cụm thẩm định", "21", parsed)


def test_total_row_not_sum_is_a_warning(tmp_path, good):
    good.poverty_total = "wrong"  # the first column's total is 7 too many
    (parsed,) = checked(build(tmp_path, good))
    total_row = excel_row(len(good.poverty_rows))
    right = sum(r["poor_households_start"] for r in good.poverty_rows)
    f = one(parsed, "total_not_sum")
    assert_place(f, "warning", "GiamNgheo", total_row, "Hộ nghèo đầu kỳ",
                 samples.vn_number(right + 7), parsed)
    assert f.expected_vi.startswith(samples.vn_number(right))
    assert parsed.outcome == "accepted_with_warnings"


# ---------------------------------------------------------------- rule table: ThongTin

def test_malformed_period(tmp_path, good):
    good.info_overrides = {"Kỳ báo cáo": "Năm 2024"}
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "period_format"), "error", "ThongTin", 5, "Kỳ báo cáo", "Năm 2024",
                 parsed)
    assert parsed.outcome == "rejected"


def test_malformed_term(tmp_path, good):
    good.term = "2021/2026"
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "term_format"), "error", "ThongTin", 6, "Nhiệm kỳ", "2021/2026",
                 parsed)


def test_period_outside_term(tmp_path, good):
    good.term = "2016-2021"
    (parsed,) = checked(build(tmp_path, good))
    assert_place(one(parsed, "period_outside_term"), "error", "ThongTin", 5, "Kỳ báo cáo", "2024",
                 parsed)


def test_period_in_the_future(tmp_path, rng):
    year = pd.Timestamp.today().year + 1
    report = samples.random_report(rng, "68", str(year), sheets=(POVERTY,))
    report.term = f"{year - 3}-{year + 2}"
    (parsed,) = checked(build(tmp_path, report))
    assert_place(one(parsed, "period_in_future"), "error", "ThongTin", 5, "Kỳ báo cáo",
                 str(year), parsed)


def test_unknown_province_code(tmp_path, rng):
    report = samples.random_report(rng, "99", "2024", sheets=(POVERTY,))
    (parsed,) = checked(build(tmp_path, report))
    assert_place(one(parsed, "unknown_province"), "error", "ThongTin", 3, "Mã tỉnh", "99", parsed)


def test_old_province_code_after_the_merger(tmp_path, rng):
    # Bình Thuận (60) merged into Lâm Đồng (68) on 1 July 2025: 60 is no code for 2025
    report = samples.random_report(rng, "60", "2025", sheets=(POVERTY,))
    report.province_name = "Bình Thuận"
    early = samples.random_report(rng, "60", "2025-6T", sheets=(POVERTY,))
    late, half = checked(build(tmp_path, report, name="a.xlsx"),
                         build(tmp_path, early, name="b.xlsx"))
    f = one(late, "province_code_ended")  # one finding: it names the province 60 became
    assert_place(f, "error", "ThongTin", 3, "Mã tỉnh", "60", late)
    assert "Lâm Đồng (mã 68)" in f.message_vi and "Lâm Đồng (code 68)" in f.message_en
    assert not found(late, "unknown_province")
    assert half.findings == []


def test_folder_differs_from_declared_province(tmp_path, good):
    (parsed,) = checked(build(tmp_path, good, folder="37"))
    f = one(parsed, "folder_mismatch")
    assert_place(f, "error", "ThongTin", 3, "Mã tỉnh", "60", parsed)
    assert f.expected_vi.startswith("37")


def test_file_at_the_inbox_top_is_rejected(tmp_path, good):
    (parsed,) = checked(build(tmp_path, good, folder=""))
    f = one(parsed, "inbox_folder")
    assert_place(f, "error", "ThongTin", 3, "Mã tỉnh", "(thư mục gốc / inbox top)", parsed)
    assert "folder of your province code" in f.message_en
    assert "thư mục mang mã tỉnh" in f.message_vi
    assert not found(parsed, "folder_mismatch")


def test_emulation_sheet_only_in_annual_reports(tmp_path, good):
    good.period = "2024-6T"
    good.info_overrides = {"Kỳ báo cáo": "2024-6T"}
    (parsed,) = checked(build(tmp_path, good))
    f = one(parsed, "emulation_not_annual")
    assert_place(f, "error", "ThongTin", 5, "Kỳ báo cáo", "2024-6T", parsed)
    assert "ThiDua" in f.message_vi


# ---------------------------------------------------------------- rule table: history

def _history(province: str, periods: list[str], measure: str, values: list[float]):
    return pd.DataFrame({"province_code": province, "period": periods,
                         "kind": POVERTY, "measure": measure, "value": values})


def test_outlier_against_the_province_history(tmp_path, good):
    total = sum(r["poor_households_start"] for r in good.poverty_rows)
    history = _history("60", ["2019", "2020", "2021", "2022", "2023", "2024-6T"],
                       "poor_households_start",
                       [total * 10.0, total * 9.6, total * 10.3, total * 9.9, total * 10.1, 1.0])
    parsed = build(tmp_path, good)
    rules.evaluate([parsed], history)
    f = one(parsed, "outlier")
    # placed on the total row, as the district sum (the value the marts use)
    assert_place(f, "warning", "GiamNgheo", excel_row(len(good.poverty_rows)), "Hộ nghèo đầu kỳ",
                 samples.vn_number(total), parsed)
    assert "5 kỳ" in f.message_vi  # the half-year value is not compared with annual ones


def test_no_outlier_with_too_little_history(tmp_path, good):
    total = sum(r["poor_households_start"] for r in good.poverty_rows)
    history = _history("60", ["2021", "2022", "2023"], "poor_households_start",
                       [total * 10.0, total * 9.0, total * 11.0])
    parsed = build(tmp_path, good)
    rules.evaluate([parsed], history)
    assert not found(parsed, "outlier")


def test_outlier_of_a_term_indicator(tmp_path, good):
    good.term_rows[0]["actual"] = 90_000
    history = pd.DataFrame({"province_code": "60", "period": ["2020", "2021", "2022", "2023"],
                            "kind": TERM, "measure": "CT01", "value": [900., 1000., 1100., 950.]})
    parsed = build(tmp_path, good)
    rules.evaluate([parsed], history)
    assert_place(one(parsed, "outlier"), "warning", "ChiTieu", excel_row(0), "Kết quả lũy kế",
                 "90.000", parsed)


# ---------------------------------------------------------------- the rule table itself

def test_rule_table_is_well_formed():
    names = [r.name for r in rules.RULES]
    assert len(names) == len(set(names))
    for rule in rules.RULES:
        assert rule.severity in ("error", "warning")
        assert rule.op in ("<=", ">=", "==", "!=", "in", "between", "not_null")
        assert rule.message_vi and rule.message_en and rule.expected_vi and rule.expected_en


def test_the_rule_table_holds_only_what_gx_cannot_state():
    # one rule format: a column pair, a value set, a format or a not-null is an expectation of
    # the suites; the table keeps a value between two other columns (period in term), an
    # aggregate over rows (total row = sum of units) and the history (outliers)
    for rule in rules.RULES:
        between_columns = rule.op == "between" and all(isinstance(c, str) for c in rule.right)
        assert between_columns or rule.scope in (rules.TOTALS, rules.HISTORY), rule.name
    in_suites = {e["meta"]["rule"] for name in suites.SUITES.values()
                 for e in suites.load_suite_dict(name)["expectations"]}
    assert {"folder_mismatch", "period_format", "term_format", "out_of_poverty_gt_poor",
            "female_out_gt_out", "female_out_gt_female_poor", "self_points_over_max",
            "reviewed_points_over_max", "unknown_province"} <= in_suites
    assert not in_suites & {r.name for r in rules.RULES}


def test_suites_are_gx_suites_with_value_sets_from_the_catalogue():
    for name in suites.SUITES.values():
        suite = suites.load_suite_dict(name)
        assert suite["name"] == name and suite["expectations"]
        for e in suite["expectations"]:
            assert e["type"].startswith("expect_") and "kwargs" in e
            assert e["meta"]["rule"] and e["meta"]["message_vi"] and e["meta"]["message_en"]
            if "value_set_from" in e["meta"]:
                assert e["kwargs"]["value_set"]  # filled at load time, empty in the JSON


# ---------------------------------------------------------------- end to end

def _drop(home, report, folder, name):
    return samples.write_xlsx(report, home.inbox / folder / name if folder else home.inbox / name)


def test_pipeline_accepts_good_rejects_bad_and_flags_warnings(home, db, rng):
    good = samples.random_report(rng, "60", "2024")
    _drop(home, good, "60", "BC_60_2024.xlsx")
    bad = samples.random_report(rng, "37", "2024", sheets=(POVERTY,))
    row = bad.poverty_rows[1]
    row["households_out_of_poverty"] = row["poor_households_start"] + 40
    _drop(home, bad, "37", "BC_37_2024.xlsx")
    warned = samples.random_report(rng, "49", "2024", sheets=(POVERTY,))
    warned.poverty_total = "wrong"
    _drop(home, warned, "49", "BC_49_2024.xlsx")
    stray = samples.random_report(rng, "56", "2024", sheets=(POVERTY,))
    _drop(home, stray, "", "BC_56_2024.xlsx")
    bad_period = samples.random_report(rng, "52", "2024", sheets=(POVERTY,))
    bad_period.info_overrides = {"Kỳ báo cáo": "2024 (cả năm)"}
    _drop(home, bad_period, "52", "BC_52_2024.xlsx")

    summary = pipeline.process_files(pipeline.list_inbox())
    events = {r.source_file: r.event for r in summary.results}
    assert events == {"BC_60_2024.xlsx": "accepted", "BC_37_2024.xlsx": "rejected",
                      "BC_49_2024.xlsx": "accepted_with_warnings",
                      "BC_56_2024.xlsx": "rejected", "BC_52_2024.xlsx": "rejected"}

    status = dict(db.execute("select source_file, status from raw.submissions").fetchall())
    assert status == events

    report = home.quarantine / "37" / "BC_37_2024.xlsx.errors.txt"
    text = report.read_text(encoding="utf-8")
    assert (home.quarantine / "37" / "BC_37_2024.xlsx").exists()
    assert text.splitlines()[0].startswith("Tệp: BC_37_2024.xlsx | Tỉnh: 37 Ninh Bình")
    assert f'Sheet GiamNgheo | dòng {excel_row(1)} | cột "Hộ thoát nghèo"' in text
    assert f'Sheet GiamNgheo | row {excel_row(1)} | column "Hộ thoát nghèo"' in text

    stray_text = (home.quarantine / "_khong_ro_tinh" / "BC_56_2024.xlsx.errors.txt").read_text(
        encoding="utf-8")
    assert "Put it in the folder of your province code" in stray_text

    period_text = (home.quarantine / "52" / "BC_52_2024.xlsx.errors.txt").read_text(
        encoding="utf-8")
    assert 'Sheet ThongTin | dòng 5 | cột "Kỳ báo cáo" | giá trị "2024 (cả năm)"' in period_text

    warnings = home.reports / "49" / "BC_49_2024.xlsx.warnings.txt"
    assert "Dòng tổng" in warnings.read_text(encoding="utf-8")
    assert not (home.quarantine / "49").exists()

    stored = db.execute(
        "select s.source_file, v.rule, v.severity, v.sheet, v.excel_row, v.column_header"
        " from audit.validation_results v join raw.submissions s using (submission_id)"
        " where s.source_file in ('BC_37_2024.xlsx', 'BC_49_2024.xlsx') order by 1").fetchall()
    assert ("BC_37_2024.xlsx", "out_of_poverty_gt_poor", "error", "GiamNgheo", excel_row(1),
            "Hộ thoát nghèo") in stored
    assert ("BC_49_2024.xlsx", "total_not_sum", "warning", "GiamNgheo",
            excel_row(len(warned.poverty_rows)), "Hộ nghèo đầu kỳ") in stored
    assert db.execute("select count(*) from raw.poverty_support s join raw.submissions u"
                      " using (submission_id) where u.outcome = 'rejected'").fetchone()[0] == 0

    from ingest.marts.build import refresh_marts
    from ingest.pages.site import build_site

    # the page reads the marts (validation_findings), as BI would: what the run made stale
    assert refresh_marts()["plan"] != "none"
    page = build_site(parts={"validation"}, dbt_docs_refresh=False).parent / "validation.html"
    assert page == home.site / "validation.html"
    html = page.read_text(encoding="utf-8")
    assert "out_of_poverty_gt_poor" in html and "BC_37_2024.xlsx" in html
    assert not (Path(__file__).resolve().parents[1] / "gx").exists()


def test_pipeline_outlier_from_the_warehouse_history(home, db):
    rng = random.Random(11)
    for year in (2019, 2020, 2021, 2022):
        report = samples.random_report(rng, "60", str(year), sheets=(POVERTY,))
        _drop(home, report, "60", f"BC_60_{year}.xlsx")
    assert pipeline.process_files(pipeline.list_inbox()).count("accepted") == 4
    report = samples.random_report(rng, "60", "2023", sheets=(POVERTY,))
    for row in report.poverty_rows:
        row["policy_loan_households"] *= 40
    _drop(home, report, "60", "BC_60_2023.xlsx")
    (result,) = pipeline.process_files(pipeline.list_inbox()).results
    assert result.event == "accepted_with_warnings"
    stored = db.execute("select rule, sheet, excel_row, column_header from"
                        " audit.validation_results where rule = 'outlier'").fetchall()
    assert ("outlier", "GiamNgheo", excel_row(len(report.poverty_rows)),
            "Hộ vay vốn NHCSXH") in stored
    text = (home.reports / "60" / "BC_60_2023.xlsx.warnings.txt").read_text(encoding="utf-8")
    assert 'cột "Hộ vay vốn NHCSXH"' in text


# ---------------------------------------------------------------- cost

def test_validation_cost_per_file(tmp_path, capsys):
    """Prints what validation costs per file against reading; set LHPN_BENCH_FILES=300."""
    n = int(os.environ.get("LHPN_BENCH_FILES", "40"))
    rng = random.Random(3)
    codes = ["01", "37", "49", "52", "56", "60"]
    paths = []
    for i in range(n):
        code = codes[i % len(codes)]
        report = samples.random_report(rng, code, str(2019 + i % 6))
        paths.append(samples.write_xlsx(report, tmp_path / code / f"bc_{i}.xlsx"))
    suites.engine()  # the context is built once per process, not per run
    t0 = time.perf_counter()
    files = [parse(p) for p in paths]
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    validate.validate(files)
    cost = time.perf_counter() - t0
    assert all(f.outcome == "accepted" for f in files), [f.findings for f in files if f.findings]
    with capsys.disabled():
        print(f"\n[validation cost] {n} files: read+parse {read:.2f} s ({read / n * 1000:.1f} ms"
              f"/file), validate {cost:.2f} s ({cost / n * 1000:.1f} ms/file)")


GX_IN_A_FRESH_PROCESS = """
import random, sys
from pathlib import Path
from ingest import samples
from ingest.validate import run
from tests.workbooks import parse_workbook

report = samples.random_report(random.Random(7), "60", "2024")
row = report.poverty_rows[4]
row["households_out_of_poverty"] = row["poor_households_start"] + 40
row["female_headed_out_of_poverty"] = 0
parsed = parse_workbook(samples.write_xlsx(report, Path(sys.argv[1]) / "60" / "bc.xlsx"))
run.validate([parsed])
print(sorted({f.rule for f in parsed.findings}), parsed.outcome)
print("loaded:", sorted(m for m in ("scipy.stats._stats_py", "altair.vegalite", "sqlalchemy")
                        if m in sys.modules))
"""


def test_validation_never_runs_what_great_expectations_imports_for_other_features(tmp_path):
    """GX imports scipy and altair (~1 s of CPU in every process that validates) for
    expectations and charts no suite uses, and SQLAlchemy (installed for Airflow) for its SQL
    data sources: validating and rejecting a file in a fresh process leaves them unloaded."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", GX_IN_A_FRESH_PROCESS, str(tmp_path)],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    found, loaded = done.stdout.splitlines()[-2:]
    assert found == "['out_of_poverty_gt_poor'] rejected", done.stdout
    assert loaded == "loaded: []", done.stdout


def _mistaken_run(tmp_path: Path, rng) -> list[ParsedFile]:
    """A run large enough for the second validation process (`PARALLEL_MIN_FILES`): four
    provinces' reports, each with a mistake in another sheet, repeated."""
    reports = [samples.random_report(rng, code, "2024") for code in ("60", "37", "01", "52")]
    reports[0].poverty_rows[3]["charity_homes"] = -2  # GiamNgheo: aside
    reports[1].emulation_rows[3]["code"] = "TD42"  # ThiDua: aside
    reports[2].term_rows[1]["code"] = "CT99"  # ChiTieu: here
    reports[3].province_name = "Hà Nội"  # ThongTin: here (a warning)
    parsed = [build(tmp_path, r, name=f"bc{i}.xlsx") for i, r in enumerate(reports)]
    return [copy.deepcopy(parsed[i % 4]) for i in range(isolated.BESIDE_MIN_ITEMS)]


def _verdicts(files: list[ParsedFile]) -> list[list[tuple]]:
    return [[(f.rule, f.severity, f.sheet, f.excel_row, f.column, f.value, f.message_vi)
             for f in p.findings] + [("fault", x.step, x.check) for x in p.faults]
            for p in files]


def test_a_large_run_runs_some_suites_in_a_second_process_with_the_same_findings(
        tmp_path, rng, monkeypatch):
    template = _mistaken_run(tmp_path, rng)
    pids = tmp_path / "pids"
    own = validate._suite

    def noted(kind, frames):
        with pids.open("a") as out:
            out.write(f"{kind} {os.getpid()}\n")
        return own(kind, frames)

    monkeypatch.setattr(validate, "_suite", noted)
    monkeypatch.setenv("LHPN_WORKERS", "2")
    split = checked(*copy.deepcopy(template))
    ran = dict(line.split() for line in pids.read_text().splitlines())
    assert {kind for kind, pid in ran.items() if pid != str(os.getpid())} == set(
        validate.ASIDE)
    monkeypatch.setenv("LHPN_WORKERS", "1")  # one core: every suite here
    alone = checked(*copy.deepcopy(template))
    assert _verdicts(split) == _verdicts(alone)
    assert {f.rule for p in split for f in p.findings} >= {
        "negative_value", "unknown_code", "province_name_mismatch"}
    assert [p.outcome for p in split[:4]] == [
        "rejected", "rejected", "rejected", "accepted_with_warnings"]

    # the second process fails (killed, out of memory): its suites run here after all
    monkeypatch.setattr(isolated, "run_each",
                        lambda count, task, **kw: (kw["idle"](), [isolated.Failure(
                            "crash", "killed by signal SIGKILL")])[1])
    monkeypatch.setenv("LHPN_WORKERS", "2")
    assert _verdicts(checked(*copy.deepcopy(template))) == _verdicts(alone)


def test_kinds_present():
    assert set(suites.SUITES) == {"ThongTin", TERM, EMULATION, POVERTY}


# ---------------------------------------------------------------- a check that crashes

def _break_metric(monkeypatch, metric: str, when, column_a: str | None = None) -> None:
    """Make GX metric `metric` raise whenever `when(frame it runs over)` is true (with
    `column_a`: only for the column pair whose column A it is)."""
    from great_expectations.expectations import registry

    suites.engine()  # the expectations and their metrics are registered
    providers = registry._registered_metrics[metric]["providers"]
    cls, fn = providers["PandasExecutionEngine"]

    def broken(**kwargs):
        frame = kwargs["execution_engine"].get_domain_records(
            domain_kwargs=kwargs["metric_domain_kwargs"])
        if when(frame) and column_a in (None, kwargs["metric_domain_kwargs"].get("column_A")):
            raise MemoryError("metric exploded (forced by the test)")
        return fn(**kwargs)

    monkeypatch.setitem(providers, "PandasExecutionEngine", (cls, broken))


def test_a_check_crashing_on_the_run_is_run_again_file_by_file(tmp_path, rng, monkeypatch):
    # the metric of "negative_value" fails on the stacked run (as on a run with huge files),
    # and works on each file alone: every file gets its real verdict, nobody a false one
    _break_metric(monkeypatch, "column_values.between.condition",
                  lambda frame: frame["_file"].nunique() > 1)
    bad = samples.random_report(rng, "60", "2024", sheets=(POVERTY,))
    bad.poverty_rows[3]["charity_homes"] = -2
    a = build(tmp_path, bad, name="a.xlsx")
    b = build(tmp_path, samples.random_report(rng, "37", "2024", sheets=(POVERTY,)),
              name="b.xlsx")
    checked(a, b)
    assert a.faults == [] and b.faults == []
    assert_place(one(a, "negative_value"), "error", "GiamNgheo", excel_row(3),
                 "Mái ấm tình thương (căn)", "-2", a)
    assert b.findings == [] and b.outcome == "accepted"


def test_a_check_crashing_on_one_file_spares_the_others(tmp_path, rng, monkeypatch):
    _break_metric(monkeypatch, "column_values.between.condition",
                  lambda frame: (frame.select_dtypes("number") == -4242).any().any())
    poisoned = samples.random_report(rng, "60", "2024", sheets=(POVERTY,))
    poisoned.poverty_rows[0]["charity_homes"] = -4242
    a = build(tmp_path, poisoned, name="a.xlsx")
    b = build(tmp_path, samples.random_report(rng, "37", "2024", sheets=(POVERTY,)),
              name="b.xlsx")
    checked(a, b)
    assert a.undecided and not found(a, "negative_value")  # no verdict, no false finding
    assert {(f.step, f.blocking) for f in a.faults} == {("suites", True)}
    assert "expect_column_values_to_be_between" in validate.fault_note(a)
    assert "metric exploded" in validate.fault_note(a)
    assert b.faults == [] and b.findings == [] and b.outcome == "accepted"


def test_a_warning_check_that_crashes_is_skipped_and_said(tmp_path, rng, monkeypatch):
    # province_name_mismatch (a warning) cannot run: the files are decided without it (the
    # metric also serves error checks of other column pairs, which keep working)
    _break_metric(monkeypatch, "column_pair_values.equal.condition", lambda frame: True,
                  "province_name_key")
    files = [build(tmp_path, samples.random_report(rng, code, "2024", sheets=(POVERTY,)),
                   name=f"{code}.xlsx") for code in ("60", "37")]
    checked(*files)
    for f in files:
        assert not f.undecided and f.outcome == "accepted"
        assert [(x.step, x.blocking) for x in f.faults] == [("suites", False)]
        assert validate.fault_note(f).startswith("validated without checks that could not run")


def test_pipeline_never_rejects_files_for_a_crashed_check(home, db, rng, monkeypatch):
    _break_metric(monkeypatch, "column_values.between.condition", lambda frame: True)
    for code in ("60", "37"):
        _drop(home, samples.random_report(rng, code, "2024", sheets=(POVERTY,)), code,
              f"BC_{code}_2024.xlsx")
    summary = pipeline.process_files(pipeline.list_inbox())
    assert {r.event for r in summary.results} == {"failed"}, summary.results
    for r in summary.results:
        assert "system fault in validation" in r.message and "metric exploded" in r.message
        assert Path(r.path).exists()  # left in the inbox for the next run
    assert not home.quarantine.exists() or not any(home.quarantine.rglob("*.xlsx"))
    assert db.execute("select count(*) from raw.submissions").fetchone()[0] == 0
    logged = db.execute("select count(*) from audit.ingest_log where event = 'failed'"
                        " and message like '%%system fault%%'").fetchone()[0]
    assert logged == 2

    monkeypatch.undo()  # the fault is repaired: the next run judges the files
    summary = pipeline.process_files(pipeline.list_inbox())
    assert sorted(r.event for r in summary.results) == ["accepted", "accepted"]


# ---------------------------------------------------------------- outliers on short histories

def _times(report: samples.Report, factor: int) -> samples.Report:
    report = copy.deepcopy(report)
    for row in report.poverty_rows:
        row["poor_households_start"] *= factor
    return report


def test_outlier_rule_is_sound_on_a_short_history(tmp_path, good):
    total = sum(r["poor_households_start"] for r in good.poverty_rows)
    # four earlier years within 0.3 % of each other: their MAD alone is tiny
    tight = _history("60", ["2020", "2021", "2022", "2023"], "poor_households_start",
                     [total * 0.900, total * 0.901, total * 0.902, total * 0.903])
    ordinary = build(tmp_path, good, name="ordinary.xlsx")  # 11 % above them
    rules.evaluate([ordinary], tight)
    assert not found(ordinary, "outlier")
    tenfold = build(tmp_path, _times(good, 10), name="tenfold.xlsx")  # a misplaced digit
    rules.evaluate([tenfold], tight)
    f = one(tenfold, "outlier")
    assert "4 kỳ trước" in f.message_vi and "at least 10% of the median" in f.message_en


def test_outlier_is_not_repeated_for_a_value_the_replaced_version_held(tmp_path, good):
    total = sum(r["poor_households_start"] for r in good.poverty_rows)
    years = ["2019", "2020", "2021", "2022", "2023"]
    past = [total, total * 1.05, total * 0.95, total * 1.02, total * 0.98]
    # version 1 of 2024 already said ten times the usual; version 2 corrects something else
    kept = _history("60", [*years, "2024"], "poor_households_start", [*past, total * 10.3])
    resent = build(tmp_path, _times(good, 10), name="resent.xlsx")
    rules.evaluate([resent], kept)
    assert not found(resent, "outlier")
    # a resubmission that changes the value to ten times the replaced one is flagged
    usual = _history("60", [*years, "2024"], "poor_households_start", [*past, total])
    changed = build(tmp_path, _times(good, 10), name="changed.xlsx")
    rules.evaluate([changed], usual)
    assert one(changed, "outlier").severity == "warning"


# ---------------------------------------------------------------- the current version, once

def test_current_version_is_decided_by_the_loader_and_read_by_the_history(home, db, rng):
    first = samples.random_report(rng, "60", "2024", sheets=(POVERTY,))
    _drop(home, first, "60", "BC_60_2024.xlsx")
    pipeline.process_files(pipeline.list_inbox())
    second = copy.deepcopy(first)
    second.poverty_rows[0]["poor_households_start"] += 100
    _drop(home, second, "60", "BC_60_2024_lan2.xlsx")
    pipeline.process_files(pipeline.list_inbox())
    rows = db.execute("select version, status, is_current from raw.submissions"
                      " order by version").fetchall()
    assert rows == [(1, "superseded", False), (2, "accepted", True)]
    past = history.load_history(db, ["60"])
    poor = past[past["measure"] == "poor_households_start"]
    assert poor["value"].tolist() == [
        float(sum(r["poor_households_start"] for r in second.poverty_rows))]


def test_a_target_without_a_result_is_a_warning_and_a_blank_row_no_indicator(tmp_path, good):
    """Contract §2, §3: a target and no result is an indicator not reported yet (a warning, placed
    at the empty result cell); a row with neither is no indicator of the report: skipped, with no
    finding, kept for the receipt to mention."""
    good.term_rows[5]["actual"] = None  # CT06: its target stays
    good.term_rows[6]["actual"] = good.term_rows[6]["target"] = None  # CT07: a blank row
    (parsed,) = checked(build(tmp_path, good))
    f = one(parsed, "result_not_reported")
    assert_place(f, "warning", "ChiTieu", excel_row(5), "Kết quả lũy kế", "", parsed)
    assert "CT06" in f.message_vi and "CT06" in f.message_en
    assert parsed.outcome == "accepted_with_warnings"
    term = parsed.sheets[TERM]
    assert "CT07" not in set(term.frame["indicator_code"]) and len(term.frame) == 7
    assert term.skipped == [(excel_row(6), "CT07")]
    assert [x for x in parsed.findings if x.rule != "result_not_reported"] == []


def test_a_year_in_a_message_stays_a_whole_number_among_files_without_one(tmp_path, rng):
    """Validated with a file that names no year (as a run validates its files together), the
    file-name check still quotes "2022", never "2022.0"."""
    named = build(tmp_path, samples.random_report(rng, "60", "2024"), name="BC_60_2022.xlsx")
    plain = build(tmp_path, samples.random_report(rng, "60", "2024"), name="bao_cao.xlsx")
    checked(named, plain)
    f = one(named, "file_name_year")
    assert "năm 2022 nhưng" in f.message_vi and "the year 2022 but" in f.message_en
    assert f.expected_vi == "năm 2024 (như Kỳ báo cáo)"
    assert ".0" not in f.message_vi + f.message_en + f.expected_vi + f.expected_en + f.value
    assert not found(plain, "file_name_year")


def test_gx_is_given_the_columns_its_expectations_read(tmp_path, good):
    """GX runs over the columns a suite reads (its columns, pairs, lists and the columns of its
    row conditions, and `_row`), taken from the frame the findings are placed from; a row
    condition written as query text would name columns GX parses itself: the whole frame."""
    expectations = suites.load_suite_dict("thong_tin")["expectations"]
    read = suites.columns_read(expectations)
    assert read[-1] == "_row"
    assert {"period_code", "period_given", "code_not_ended", "new_codes", "report_date",
            "late_limit"} <= set(read)
    assert "file_name" not in read  # quoted in messages only
    from ingest.validate.frames import RunFrames

    frames = RunFrames([build(tmp_path, good)])
    for kind in suites.SUITES:
        for part in suites.engine().frames_of(kind):
            frame = frames.suite_frame(kind, part)
            columns = suites.engine().columns[kind, part]
            assert columns is not None and set(columns) <= set(frame.columns), (kind, part)
    text = [{"type": "expect_column_values_to_not_be_null",
             "kwargs": {"column": "period_code", "row_condition": 'period_given == True',
                        "condition_parser": "pandas"}}]
    assert suites.columns_read(text) is None


def test_gx_kwargs_built_once_answer_as_gx_does():
    """`suites._kwargs_built_once` replaces four of GX's `Expectation` methods by ones that build
    the expectation's configuration once per call: for every expectation of the suites, with the
    result formats the run asks for, they return what GX's own return."""
    from great_expectations.expectations.expectation import Expectation

    engine = suites.engine()
    assert suites.GX_OWN and all(getattr(Expectation, name) is not own
                                 for name, own in suites.GX_OWN.items())
    formats = [None, {}, {"result_format": "BOOLEAN_ONLY"}, suites._VERDICT,
               {"result_format": suites._RESULT_FORMAT, "catch_exceptions": False}]
    checked = 0
    for suite in engine.suites.values():
        for expectation in suite.expectations:
            for name in ("_get_domain_kwargs", "_get_success_kwargs"):
                assert getattr(expectation, name)() == suites.GX_OWN[name](expectation)
            for fmt in formats:
                assert expectation._get_runtime_kwargs(copy.deepcopy(fmt)) == \
                    suites.GX_OWN["_get_runtime_kwargs"](expectation, copy.deepcopy(fmt))
            keys = {*expectation.domain_keys, *expectation.success_keys,
                    *expectation.runtime_keys, "mostly", "no_such_key"}
            for key in keys:
                assert expectation._get_success_kwarg(key, "dflt") == \
                    suites.GX_OWN["_get_success_kwarg"](expectation, key, "dflt"), key
            checked += 1
    assert checked >= 40  # every expectation of the four suites (42 today)
