"""Every quoted cell is the real cell (issue 11 item 5, contract §3).

One test: a messy workbook whose every checked cell holds a value no other checked cell holds,
broken once per rule; each finding's (sheet, Excel row, column header) is looked up in the
saved workbook with openpyxl and the cell found there must be the value the report quotes. With
distinct values, a finding placed one column or one row off quotes a value that is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from ingest import samples
from ingest.model import INFO_SHEET, POVERTY, TERM
from ingest.reference import communes_of
from ingest.validate import history, rules, suites
from ingest.validate import run as validate
from ingest.validate.report import render_report
from tests.workbooks import parse_workbook as _parse

DISTRICTS = ["Nam Trực", "Vụ Bản", "Ý Yên", "Giao Thủy", "Hải Hậu", "Xuân Trường", "Trực Ninh",
             "Nghĩa Hưng"]
# canonical column -> base of its values: row i holds base + i (every cell distinct, and the
# contract's relations hold: out of poverty <= poor, female out <= out and <= female poor)
POVERTY_BASES = {
    "poor_households_start": 90_000, "female_headed_poor": 80_000,
    "households_out_of_poverty": 70_000, "households_out_of_near_poverty": 60_000,
    "female_headed_out_of_poverty": 50_000, "charity_homes": 1_000, "charity_homes_vnd": 2_000,
    "policy_loan_households": 30_000, "policy_loan_outstanding_vnd": 40_000,
    "livelihood_packages": 1_100, "five_no_three_clean_households": 20_000,
    "savings_loan_groups": 10_000, "overdue_loans_vnd": 3_000,
}
PERCENT = {"CT02": (81, "91%"), "CT07": (83, "93%"), "CT08": (85, "95%")}  # target, result


def distinct_report(period: str = "2024") -> samples.Report:
    report = samples.Report("60", period)
    report.term_rows = []
    for n in range(8):
        code = f"CT0{n + 1}"
        if code in PERCENT:
            target, actual = PERCENT[code]
            report.term_rows.append({"code": code, "target": target, "actual": actual})
        else:
            report.term_rows.append({"code": code, "target": 3_101 + 101 * n,
                                     "actual": 3_151 + 101 * n})
    # criteria whose catalogue maxima differ (15, 20, 10): every points cell distinct
    report.emulation_rows = [
        {"code": "TD01", "max": 15, "self": 14.3, "reviewed": 13.7},
        {"code": "TD02", "max": 20, "self": 19.1, "reviewed": 18.6},
        {"code": "TD04", "max": 10, "self": 9.2, "reviewed": 8.8},
    ]
    report.poverty_rows = [{"district_name": name, **{c: base + i for c, base in
                                                       POVERTY_BASES.items()}}
                           for i, name in enumerate(DISTRICTS)]
    for row in report.poverty_rows:
        row["charity_homes_vnd"] += 0.5  # money may have decimals
    return report


def _set(rows_of: str, i: int, **values) -> Callable[[samples.Report], None]:
    def change(report):
        getattr(report, rows_of)[i].update(values)
    return change


def _info(**values) -> Callable[[samples.Report], None]:
    def change(report):
        report.info_overrides.update(values)
    return change


def _attr(**values) -> Callable[[samples.Report], None]:
    def change(report):
        for k, v in values.items():
            setattr(report, k, v)
    return change


def _named(name: str) -> Callable[[samples.Report], None]:
    """The workbook saved under `name` (the file-name rule reads it)."""
    def change(report):
        report.file_name = name
    return change


def _duplicate(rows_of: str, key: str, src: int, dst: int) -> Callable[[samples.Report], None]:
    def change(report):
        rows = getattr(report, rows_of)
        rows[dst][key] = rows[src][key]
    return change


def _in_2025(province: str, name: str, term: str = "2025-2030", **units: str,
             ) -> Callable[[samples.Report], None]:
    """The report as a 2025 annual report of a province of the new map, its units real
    communes of the province (contract §2), then `units`: row number -> unit as written."""
    def change(report):
        report.province_code, report.province_name = province, name
        report.period, report.term = "2025", term
        real = sorted(c.name for found in communes_of(province).values() for c in found)
        for i, row in enumerate(report.poverty_rows):
            row["district_name"] = units.get(f"row{i}", real[i])
    return change


NEXT_YEAR = date.today().year + 1
OUTLIER_HISTORY = pd.DataFrame(
    [("60", str(y), POVERTY, "poor_households_start", 7_000.0 + y) for y in range(2018, 2024)]
    + [("60", str(y), TERM, "CT04", 300.0 + y % 7) for y in range(2018, 2024)],
    columns=history.HISTORY_COLUMNS)

# rule -> (how the workbook breaks it, inbox folder, history for the outlier rule)
CASES: dict[str, list[tuple[Callable, str, pd.DataFrame | None]]] = {
    "unknown_code": [(_set("term_rows", 1, code="CT99"), "60", None),
                     (_set("emulation_rows", 2, code="TD42"), "60", None)],
    "duplicate_key": [(_duplicate("term_rows", "code", 0, 4), "60", None),
                      (_duplicate("emulation_rows", "code", 0, 2), "60", None),
                      # the district of issue 11: "Nam Trực" on two rows
                      (_duplicate("poverty_rows", "district_name", 0, 1), "60", None),
                      # from 2025 a commune, however written, is one unit
                      (_in_2025("68", "Lâm Đồng", row0="Xã Đắk Mil", row6="XA DAK MIL"), "68",
                       None)],
    "negative_value": [(_set("term_rows", 3, target=-3_404), "60", None),
                       (_set("term_rows", 5, actual=-3_656), "60", None),
                       (_set("emulation_rows", 1, self=-19.1, reviewed=None), "60", None),
                       (_set("emulation_rows", 0, reviewed=-13.7), "60", None),
                       (_set("poverty_rows", 3, charity_homes=-1_003), "60", None),
                       (_set("poverty_rows", 6, policy_loan_outstanding_vnd=-40_006), "60",
                        None)],
    "not_whole": [(_set("term_rows", 0, target=3_101.5), "60", None),
                  (_set("poverty_rows", 2, livelihood_packages=1_102.5), "60", None)],
    "percent_over_100": [(_set("term_rows", 1, actual="104%"), "60", None)],
    "result_not_reported": [(_set("term_rows", 3, actual=None), "60", None)],
    "max_points_catalogue": [(_set("emulation_rows", 0, max=16), "60", None),
                             (_set("emulation_rows", 2, max=None), "60", None)],
    "province_name_mismatch": [(_attr(province_name="Hà Nội"), "60", None)],
    "inbox_folder": [(lambda r: None, "", None)],
    "period_format": [(_info(**{"Kỳ báo cáo": "Năm 2024"}), "60", None)],
    "term_format": [(_attr(term="2021/2026"), "60", None)],
    "period_outside_term": [(_attr(term="2016-2021"), "60", None)],
    "period_in_future": [(_attr(period=str(NEXT_YEAR), term=f"{NEXT_YEAR - 3}-{NEXT_YEAR + 2}"),
                          "60", None)],
    "unknown_province": [(_attr(province_code="99"), "99", None)],
    "folder_mismatch": [(lambda r: None, "37", None)],
    "emulation_not_annual": [(_attr(period="2024-6T"), "60", None)],
    "out_of_poverty_gt_poor": [(_set("poverty_rows", 4, households_out_of_poverty=90_044),
                                "60", None)],
    "female_out_gt_out": [(_set("poverty_rows", 5, female_headed_out_of_poverty=70_006),
                           "60", None)],
    "female_out_gt_female_poor": [(_set("poverty_rows", 6, female_headed_poor=49_999), "60",
                                   None)],
    "self_points_over_max": [(_set("emulation_rows", 0, self=15.7, reviewed=None), "60", None)],
    "reviewed_points_over_max": [(_set("emulation_rows", 1, reviewed=20.4), "60", None)],
    "total_not_sum": [(_attr(poverty_total="wrong"), "60", None)],
    "outlier": [(lambda r: None, "60", OUTLIER_HISTORY)],
    # Vietnam after 1 July 2025 (issue 21)
    "province_code_ended": [(_attr(period="2025", term="2025-2030"), "60", None)],
    "term_after_reform": [(_in_2025("68", "Lâm Đồng", term="2021-2026"), "68", None)],
    "overdue_gt_outstanding": [(_set("poverty_rows", 3, overdue_loans_vnd=40_004), "60", None)],
    "unknown_commune": [(_in_2025("68", "Lâm Đồng", row2="Xã Đắk Mill"), "68", None)],
    "ambiguous_commune": [(_in_2025("51", "Quảng Ngãi", row4="Sơn Ha"), "51", None)],
    "commune_other_province": [(_in_2025("68", "Lâm Đồng", row5="Phường Ba Đình"), "68",
                                None)],
    # dates nobody would write for the period (issue 24 item 8)
    "report_date_before_period": [(_attr(report_date=date(2023, 12, 10)), "60", None)],
    "report_date_late": [(_attr(report_date=date(2026, 1, 15)), "60", None)],
    "file_name_year": [(_named("BC_60_nam_2022.xlsx"), "60", None)],
}


def _text(value: object) -> str:
    """A cell as the reader takes it: integers without '.0', text stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _one_line(text: object) -> str:
    return " ".join(_text(text).split())


def cell_at(path: Path, sheet: str, row: int, column: str) -> str:
    """The cell the report points at, read from the saved workbook: in a data sheet the cell of
    `row` under the header `column`; in ThongTin the value beside the label `column` in `row`."""
    ws = load_workbook(path)[sheet]
    if sheet == INFO_SHEET:
        cells = [c for c in ws[row] if _text(c.value)]
        assert _one_line(cells[0].value) == column, (row, column, cells[0].value)
        return _text(cells[1].value) if len(cells) > 1 else ""
    headers = [c for r in ws.iter_rows(max_row=20) for c in r if _one_line(c.value) == column]
    assert len(headers) == 1, (sheet, column, headers)
    return _text(ws.cell(row, headers[0].column).value)


@pytest.mark.slow
def test_every_quoted_cell_is_the_real_cell(tmp_path, monkeypatch):
    # the premise: in the unbroken workbook every cell a check reads is distinct
    base = _parse(samples.write_xlsx(distinct_report(), tmp_path / "base" / "60" / "bc.xlsx"))
    checked = [v for s in base.sheets.values() for row in s.text.values()
               for c, v in row.items() if c not in ("indicator_text", "unit_text", "note",
                                                    "criterion_text", "is_total", "actual_text")]
    checked += [v for k, v in base.info.raw.items() if k != "contact"]
    assert len(checked) == len(set(checked)) >= 140, sorted(checked)
    validate.validate([base])
    assert base.findings == []

    suite_rules = {e["meta"]["rule"] for name in suites.SUITES.values()
                   for e in suites.load_suite_dict(name)["expectations"]}
    assert set(CASES) == suite_rules | {r.name for r in rules.RULES}  # every rule, in turn

    # each broken workbook, validated with the others of the same history together, as a run
    # validates its files (every check keys its findings by file)
    broken = []
    for rule, cases in CASES.items():
        for n, (change, folder, past) in enumerate(cases):
            report = distinct_report()
            change(report)
            path = samples.write_xlsx(report, tmp_path / rule / str(n) / (folder or ".")
                                      / getattr(report, "file_name", "bc.xlsx"))
            broken.append((rule, n, report, path, _parse(path, folder), past))
    for past in {id(case[5]): case[5] for case in broken}.values():
        monkeypatch.setattr(history, "load_history",
                            lambda conn, provinces, past=past: past if past is not None
                            else pd.DataFrame(columns=history.HISTORY_COLUMNS))
        validate.validate([case[4] for case in broken if case[5] is past])

    placed = 0
    for rule, n, report, path, parsed, _past in broken:
        hits = [f for f in parsed.findings if f.rule == rule]
        assert hits, (rule, n, [(f.rule, f.message_en) for f in parsed.findings])
        assert any(f.excel_row for f in hits), (rule, n, hits)  # the rule places findings
        report_text = render_report(parsed)
        for f in parsed.findings:  # every finding of the workbook, not only the rule's
            if f.excel_row is None:
                continue
            if f.rule == "inbox_folder":  # it quotes the folder: its row is Mã tỉnh's
                assert cell_at(path, f.sheet, f.excel_row, f.column) == report.province_code
                continue
            assert cell_at(path, f.sheet, f.excel_row, f.column) == f.value, (
                rule, n, f.rule, f.sheet, f.excel_row, f.column, f.value)
            quoted = (f'Sheet {f.sheet} | dòng {f.excel_row} | cột "{f.column}" | '
                      + (f'giá trị "{f.value}"' if f.value else "giá trị (trống)"))
            assert quoted in report_text, quoted
            placed += 1
    assert placed >= len(CASES)



