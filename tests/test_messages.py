"""Every finding a clerk can get, rendered in both languages (contract §3), checked for what makes
a message actionable: Vietnamese first with no untranslated library text, numbers written the
Vietnamese way or as typed, one mistake giving one finding, no contradictory fixes.

Each kind of finding has a fixture below (a workbook built as an office writes it, or a file as
it arrives broken); the test renders the catalogue of all of them into one text (written to
`<tmp>/catalogue.txt` for a reader to look at) and fails on a kind with no fixture.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ingest import pipeline, samples
from ingest.model import EMULATION, POVERTY, TERM, Finding, ParsedFile
from ingest.reference import communes, communes_of, provinces_new, provinces_old
from ingest.validate import rules, suites
from ingest.validate import run as validate
from ingest.validate.report import render_report
from tests import hostile
from tests.workbooks import parse_workbook as _parse

# A case writes its file under a folder and reads it; one that is validated appends it to `run`
# when given (the catalogue validates all of them together, as a run's files are), else
# validates it at once.
Case = Callable[..., ParsedFile]
Run = list[tuple[ParsedFile, pd.DataFrame | None]]


def _report(code: str = "60", period: str = "2024", sheets=(TERM, EMULATION, POVERTY)):
    return samples.random_report(random.Random(7), code, period, sheets=sheets)


def _checked(report: samples.Report, folder: str | None = None, name: str = "bc.xlsx",
             history: pd.DataFrame | None = None, **write) -> Case:
    def case(tmp: Path, run: Run | None = None) -> ParsedFile:
        where = report.province_code if folder is None else folder
        path = samples.write_xlsx(report, tmp / (where or ".") / name, **write)
        parsed = _parse(path, where)
        if run is None:
            _validate([(parsed, history)])
        else:
            run.append((parsed, history))
        return parsed
    return case


def _validate(run: Run) -> None:
    """Validate the files together (one run), then score each against its own history."""
    validate.validate([parsed for parsed, _ in run], None)
    for parsed, history in run:
        if history is not None:
            rules.evaluate([parsed], history)


def _raw(name: str, data: bytes) -> Case:
    def case(tmp: Path, run: Run | None = None) -> ParsedFile:
        path = tmp / "60" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return _parse(path)
    return case


def _made(make: Callable[[Path], Path]) -> Case:
    return lambda tmp, run=None: _parse(make(tmp / "60"))


def _edit(change: Callable[[samples.Report], None], **kwargs) -> Case:
    report = _report(**{k: kwargs.pop(k) for k in ("code", "period", "sheets") if k in kwargs})
    change(report)
    return _checked(report, **kwargs)


def _set(rows: str, i: int, **values) -> Callable[[samples.Report], None]:
    def change(r: samples.Report) -> None:
        getattr(r, rows)[i].update(values)
        if any(isinstance(v, str) for v in values.values()):
            r.poverty_total = None  # the sample's total row cannot sum text
    return change


def _history_of(report: samples.Report) -> pd.DataFrame:
    total = sum(r["poor_households_start"] for r in report.poverty_rows)
    return pd.DataFrame({"province_code": "60", "period": ["2019", "2020", "2021", "2022", "2023"],
                         "kind": POVERTY, "measure": "poor_households_start",
                         "value": [total * 10.0, total * 9.6, total * 10.3, total * 9.9,
                                   total * 10.1]})


def _outlier() -> Case:
    report = _report()
    return _checked(report, history=_history_of(report))


def _csv(text: str) -> Case:
    return _raw("bc.csv", text.encode("utf-8"))


def _sheet_without(label: str) -> Case:
    def case(tmp: Path, run: Run | None = None) -> ParsedFile:
        from openpyxl import load_workbook

        path = samples.write_xlsx(_report(sheets=(POVERTY,)), tmp / "60" / "bc.xlsx")
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value == label:
                        cell.value = None
        wb.save(path)
        return _parse(path)
    return case


def _extra_sheet(title: str, copy_of: str | None = None) -> Case:
    def case(tmp: Path, run: Run | None = None) -> ParsedFile:
        from openpyxl import load_workbook

        path = samples.write_xlsx(_report(sheets=(POVERTY,)), tmp / "60" / "bc.xlsx")
        wb = load_workbook(path)
        if copy_of:
            wb.copy_worksheet(wb[copy_of]).title = title
        else:
            for name in wb.sheetnames:
                if name != "ThongTin":
                    del wb[name]
        wb.save(path)
        return _parse(path)
    return case


def _in_2025(province: str, name: str, term: str = "2025-2030", **units: str
             ) -> Callable[[samples.Report], None]:
    """A 2025 annual report of a province of the new map, its units real communes of the
    province, then `units`: row number -> unit as written."""
    def change(r: samples.Report) -> None:
        r.province_code, r.province_name, r.period, r.term = province, name, "2025", term
        real = sorted(c.name for found in communes_of(province).values() for c in found)
        for i, row in enumerate(r.poverty_rows):
            row["district_name"] = units.get(f"row{i}", real[i])
    return change


def _formula() -> Case:
    """A workbook written by a program: a formula with no computed value in GiamNgheo."""
    def case(tmp: Path, run: Run | None = None) -> ParsedFile:
        from openpyxl import load_workbook

        path = samples.write_xlsx(_report(sheets=(POVERTY,)), tmp / "60" / "bc.xlsx")
        wb = load_workbook(path)
        wb["GiamNgheo"]["D6"] = "=D5*2"
        wb.save(path)
        return _parse(path)
    return case


def _no_figures(r: samples.Report) -> None:
    r.poverty_total = None
    for row in r.poverty_rows:
        row.update({k: None for k in row if k != "district_name"})


def _wrong_total(r: samples.Report) -> None:
    r.poverty_total = "wrong"


# kind -> a case giving at least one finding of that kind
CASES: dict[str, Case] = {
    # reading the file (ingest/read)
    "macro_enabled": _raw("bc.xlsm", b"PK\x03\x04"),
    "file_type": _raw("ghi_chu.docx", b"PK\x03\x04"),
    "empty_file": _raw("rong.xlsx", b""),
    "unreadable": _raw("van_ban.xlsx", "Báo cáo năm 2024: 1.284 hộ".encode()),
    "fragment": _raw("hong.xlsx", b"PK\x03\x04 this zip is cut short"),
    "encrypted": _made(hostile.encrypted_xlsx),
    "encoding": _raw("nhi_phan.csv", b"\xff\xfeabc"),
    "csv_layout": _csv("Mã tỉnh;60\nKỳ báo cáo;2024\n"),
    "too_complex": _made(lambda folder: hostile.huge_field_csv(folder)),
    "control_character": _made(hostile.nul_in_cell),
    "not_a_number": _edit(_set("poverty_rows", 1, poor_households_start="khoảng 300")),
    "unexpected_fraction": _edit(_set("poverty_rows", 1, poor_households_start="3/4")),
    "missing_key": _made(hostile.keyless_row),
    "bad_date": _edit(lambda r: r.info_overrides.update({"Ngày lập": "31/02/2024"})),
    "missing_info_sheet": _made(hostile.foreign_workbook),
    "missing_info_label": _sheet_without("Kỳ báo cáo"),
    "missing_column": _sheet_without("Hộ thoát nghèo"),
    "missing_header": _sheet_without("Đơn vị"),
    "no_data_sheet": _extra_sheet("x"),
    "duplicate_sheet": _extra_sheet("Giảm nghèo", copy_of="GiamNgheo"),
    # the GX suites (expectations/)
    "unknown_code": _edit(_set("term_rows", 0, code="CT99")),
    "duplicate_key": _edit(lambda r: r.poverty_rows[3].update(
        district_name=r.poverty_rows[2]["district_name"])),
    "negative_value": _edit(_set("poverty_rows", 1, poor_households_start=-3)),
    "not_whole": _edit(_set("poverty_rows", 1, livelihood_packages=12.5)),
    "percent_over_100": _edit(_set("term_rows", 1, actual="104%")),
    "result_not_reported": _edit(_set("term_rows", 5, actual=None)),
    "max_points_catalogue": _edit(_set("emulation_rows", 0, max=20, self=14, reviewed=None)),
    "province_name_mismatch": _edit(lambda r: setattr(r, "province_name", "Hà Nội")),
    # the rule table (ingest/validate/rules.py)
    "inbox_folder": _checked(_report(), folder=""),
    "period_format": _edit(lambda r: r.info_overrides.update({"Kỳ báo cáo": "Năm 2024"})),
    "term_format": _edit(lambda r: setattr(r, "term", "2021/2026")),
    "period_outside_term": _edit(lambda r: setattr(r, "term", "2016-2021")),
    "period_in_future": _edit(lambda r: setattr(r, "term", "2026-2031"), period="2030",
                              sheets=(POVERTY,)),
    "unknown_province": _edit(lambda r: None, code="99", period="2024", sheets=(POVERTY,)),
    "province_code_ended": _edit(lambda r: None, code="60", period="2025", sheets=(POVERTY,)),
    "folder_mismatch": _edit(lambda r: None, folder="37"),
    "emulation_not_annual": _edit(lambda r: r.info_overrides.update({"Kỳ báo cáo": "2024-6T"})),
    "out_of_poverty_gt_poor": _edit(lambda r: r.poverty_rows[4].update(
        households_out_of_poverty=r.poverty_rows[4]["poor_households_start"] + 40,
        female_headed_out_of_poverty=0)),
    "female_out_gt_out": _edit(lambda r: r.poverty_rows[0].update(
        female_headed_poor=r.poverty_rows[0]["poor_households_start"],
        female_headed_out_of_poverty=r.poverty_rows[0]["households_out_of_poverty"] + 1)),
    "female_out_gt_female_poor": _edit(_set("poverty_rows", 2, female_headed_poor=3,
                                            female_headed_out_of_poverty=5)),
    "self_points_over_max": _edit(_set("emulation_rows", 6, self=7.5, reviewed=None)),
    "reviewed_points_over_max": _edit(_set("emulation_rows", 1, self=20, reviewed=21)),
    "total_not_sum": _edit(_wrong_total),
    "formula_not_computed": _formula(),
    "no_figures": _edit(_no_figures, sheets=(POVERTY,)),
    "report_date_before_period": _edit(lambda r: setattr(r, "report_date", date(2023, 12, 10))),
    "report_date_late": _edit(lambda r: setattr(r, "report_date", date(2030, 1, 10))),
    "file_name_year": _edit(lambda r: None, name="BC_60_2022.xlsx"),
    "overdue_gt_outstanding": _edit(lambda r: r.poverty_rows[3].update(
        overdue_loans_vnd=r.poverty_rows[3]["policy_loan_outstanding_vnd"] + 4)),
    # Viet Nam after 1 July 2025: terms and communes
    "term_after_reform": _edit(_in_2025("68", "Lâm Đồng", term="2021-2026"), folder="68"),
    "unknown_commune": _edit(_in_2025("68", "Lâm Đồng", row2="Xã Đắk Mill"), folder="68"),
    "ambiguous_commune": _edit(_in_2025("51", "Quảng Ngãi", row4="Sơn Ha"), folder="51"),
    "commune_other_province": _edit(_in_2025("68", "Lâm Đồng", row5="Phường Ba Đình"),
                                    folder="68"),
    "outlier": _outlier(),
}

# words a Vietnamese message may share with the English one: names of sheets, programs, formats
_SHARED = {"sheet", "thongtin", "chitieu", "thidua", "giamngheo", "excel", "libreoffice",
           "save", "workbook", "xlsx", "xlsm", "xls", "ods", "csv", "utf", "nul", "x0000",
           "opendocument", "word", "yyyy", "gk", "tk", "ct", "td", "docx", "email", "macro"}
_PLACES = {w.lower() for name in [*provinces_old().values(), *provinces_new().values(),
                                   *(c.name for c in communes().values())]
           for w in re.findall(r"\w+", name)}
_LIBRARY = re.compile(r"Error|Exception|Traceback|cannot|detect|invalid|unsupported|"
                      r"not a |errno|zip file", re.I)
# a decimal written the English way: 1250.5, 11.54, 3.0 (Vietnamese thousands are groups of 3)
_ENGLISH_DECIMAL = re.compile(r"(?<![\d.])\d+\.(\d{1,2}|\d{4,})(?![\d.])")


def _words(text: str) -> set[str]:
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)  # quoted values are the clerk's own
    return {w.lower() for w in re.findall(r"\w+", text) if w.isascii() and w.isalpha()}


def _problems(f: Finding) -> list[str]:
    vi = " ".join(x for x in (f.message_vi, f.expected_vi) if x)
    en = " ".join(x for x in (f.message_en, f.expected_en) if x)
    out = []
    shared = (_words(vi) & _words(en)) - _SHARED - _PLACES
    english = {w for w in shared if len(w) > 3}
    if english:
        out.append(f"English words in the Vietnamese text: {sorted(english)}")
    if _LIBRARY.search(re.sub(r"'[^']*'", "", vi)):
        out.append("library text in the Vietnamese text")
    for text in (vi, f.value or ""):
        if _ENGLISH_DECIMAL.search(text):
            out.append(f"a number written the English way: {text!r}")
    if not f.message_vi or not f.message_en:
        out.append("a language is missing")
    return out


def _all_kinds() -> set[str]:
    kinds = {r.name for r in rules.RULES}
    for name in suites.SUITES.values():
        kinds |= {e["meta"]["rule"] for e in suites.load_suite_dict(name)["expectations"]}
    source = "\n".join(p.read_text(encoding="utf-8") for p in
                       Path(pipeline.__file__).parent.joinpath("read").glob("*.py"))
    kinds |= set(re.findall(r'rule="(\w+)"', source))
    kinds |= set(re.findall(r'_finding\(\s*"(\w+)"', source))
    return kinds - {"unreadable"} | {"unreadable"}


def test_every_finding_kind_is_actionable_in_both_languages(tmp_path):
    missing = _all_kinds() - set(CASES)
    assert not missing, f"finding kinds without a fixture in the catalogue: {sorted(missing)}"
    catalogue, problems = [], []
    run: Run = []  # the files of the checked cases, validated together as one run
    cases = {kind: case(tmp_path / kind, run) for kind, case in CASES.items()}
    _validate(run)
    for kind, parsed in cases.items():
        hits = [f for f in parsed.findings if f.rule == kind]
        assert hits, (kind, [(f.rule, f.message_en) for f in parsed.findings])
        catalogue += [f"#### {kind}", render_report(parsed)]
        problems += [f"{kind}: {p}" for f in parsed.findings for p in _problems(f)]
    text = "\n".join(catalogue)
    (tmp_path / "catalogue.txt").write_text(text, encoding="utf-8")
    assert not problems, "\n".join(problems)
    # every unreadable file says what to do
    for kind in ("unreadable", "encrypted", "macro_enabled", "file_type"):
        parsed = CASES[kind](tmp_path / f"again-{kind}")
        assert "gửi lại" in parsed.findings[0].message_vi, parsed.findings[0].message_vi


def _one_finding(parsed: ParsedFile) -> Finding:
    assert len(parsed.findings) == 1, [(f.rule, f.column, f.message_vi) for f in parsed.findings]
    return parsed.findings[0]


def test_a_count_not_whole_is_one_finding_quoted_as_typed(tmp_path):
    # the clerk typed 1.250,5 households and a total row that is whole: no total warnings
    report = _report(sheets=(POVERTY,))
    report.poverty_rows[1]["poor_households_start"] = 1250.5
    parsed = _checked(report, vn_text=True)(tmp_path)
    f = _one_finding(parsed)
    assert (f.rule, f.value) == ("not_whole", "1.250,5")
    assert "'1.250,5'" in f.message_vi and "1250.5" not in f.message_vi


def test_a_number_cell_not_whole_is_quoted_the_vietnamese_way(tmp_path):
    report = _report(sheets=(POVERTY,))
    report.poverty_rows[1]["poor_households_start"] = 1250.5
    f = _one_finding(_checked(report, vn_text=False)(tmp_path))
    assert f.value == "1.250,5" and "1.250,5" in f.message_vi


def test_a_negative_count_is_one_finding(tmp_path):
    report = _report(sheets=(POVERTY,))
    report.poverty_rows[1]["poor_households_start"] = -3
    f = _one_finding(_checked(report, vn_text=False)(tmp_path))
    assert f.rule == "negative_value" and "'-3'" in f.message_vi


def test_a_duplicate_unit_is_named(tmp_path):
    report = _report(sheets=(POVERTY,))
    name = report.poverty_rows[2]["district_name"]
    report.poverty_rows[3]["district_name"] = name
    parsed = _checked(report)(tmp_path)
    assert {f.rule for f in parsed.findings} == {"duplicate_key"}  # no total-row echo
    assert all(f"'{name}'" in f.message_vi for f in parsed.findings)


@pytest.mark.parametrize("name, expected", [("Cao Bằng", []), ("Hà Nội", ["04"])])
def test_a_wrong_province_code_asks_for_one_fix(tmp_path, name, expected):
    # sent from folder 04 (Cao Bằng) with Mã tỉnh 06: the code is what is wrong
    report = _report(code="06", sheets=(POVERTY,))
    report.province_name = name
    parsed = _checked(report, folder="04")(tmp_path)
    errors = [f for f in parsed.findings if f.severity == "error"]
    assert [f.rule for f in errors] == ["folder_mismatch"]
    assert errors[0].expected_vi.startswith("04")
    names = [f for f in parsed.findings if f.rule == "province_name_mismatch"]
    assert [f.expected_vi for f in names] == (["Cao Bằng"] if expected else [])


def test_an_ended_province_code_names_the_province_it_became(tmp_path):
    parsed = CASES["province_code_ended"](tmp_path)
    [f] = [x for x in parsed.findings if x.rule.startswith(("province_code", "unknown_prov"))]
    assert f.rule == "province_code_ended"  # not also "unknown province": one mistake
    assert "Lâm Đồng" in f.message_vi and "68" in f.message_vi and "Lâm Đồng" in f.message_en
