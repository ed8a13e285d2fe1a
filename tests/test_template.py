"""`lhpn template`: the data-entry form, filled in as a clerk would and sent back through the
real pipeline on the embedded PostgreSQL; its print setup, protection and data validation; its
pre-fill from the warehouse; and LibreOffice's view of it (skipped where `soffice` is absent)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from ingest import pipeline, template
from ingest.cli import main as cli
from ingest.model import EMULATION, POVERTY, TERM
from ingest.periods import parse_period
from ingest.read.layout import SHEETS
from ingest.reference import communes_of, indicators_of
from tests.workbooks import drop, report

HEADER_ROW = 3
SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not "
                                   "installed: apt-get install libreoffice-calc-nogui")


# ---------------------------------------------------------------- a clerk at work

def columns(ws, kind: str) -> dict[str, int]:
    """Canonical column -> column number, read from the header as the reader matches it."""
    found = {}
    for cell in ws[HEADER_ROW]:
        col = SHEETS[kind].match(cell.value)
        if col:
            found[col.name] = cell.column
    return found


def type_into(ws, row: int, column: int, value) -> None:
    cell = ws.cell(row, column)
    assert cell.protection.locked is False, f"{ws.title}!{cell.coordinate} is not an input cell"
    cell.value = value


def data_rows(ws, kind: str) -> list[int]:
    """Rows of the table: numbered in STT, up to the signature block."""
    return [r for r in range(HEADER_ROW + 1, ws.max_row + 1)
            if isinstance(ws.cell(r, 1).value, int)]


def default_units(info) -> tuple[str, ...]:
    """Units a clerk types: districts before 1 July 2025; from the 2025 annual report on two
    real communes of the province (Xã Tân Lập first where the province has one)."""
    values = {row[0].value: row[1].value for row in info.iter_rows(min_row=1, max_col=2)}
    period = parse_period(values.get("Kỳ báo cáo"))
    if period is None or not period.uses_new_codes:
        return ("Xã Tân Lập", "Phường Bình Minh")
    names = sorted(c.name for found in communes_of(values["Mã tỉnh"]).values() for c in found)
    return tuple(sorted(names, key=lambda n: n != "Xã Tân Lập")[:2])


def fill(path: Path, units: tuple[str, ...] | None = None,
         keep_targets: bool = False) -> Path:
    """Type what a clerk types, into the shaded cells only."""
    wb = load_workbook(path)
    info = wb["ThongTin"]
    units = default_units(info) if units is None else units
    for row in info.iter_rows(min_row=1):
        label = row[0].value
        values = {"Ngày lập": datetime(2025, 12, 10), "Người lập": "Trần Thị Mai",
                  "Điện thoại / Email": "0905 111 222"}
        if label in values:
            type_into(info, row[0].row, 2, values[label])
    term = wb["ChiTieu"]
    col = columns(term, TERM)
    catalogue = indicators_of("term")
    for r in data_rows(term, TERM):
        code = term.cell(r, col["indicator_code"]).value
        if code is None:
            continue  # a spare row for an indicator the pre-filled rows do not list
        indicator = catalogue[code]
        percent = indicator.value_type == "percent"
        if not (keep_targets and term.cell(r, col["target_value"]).value is not None):
            type_into(term, r, col["target_value"], 0.9 if percent else 1000)
        type_into(term, r, col["actual_value"], 0.86 if percent else 1040)
    if "ThiDua" in wb.sheetnames:
        scores = wb["ThiDua"]
        col = columns(scores, EMULATION)
        for r in data_rows(scores, EMULATION):
            maximum = scores.cell(r, col["max_points"]).value
            type_into(scores, r, col["self_points"], maximum - 1)
            type_into(scores, r, col["reviewed_points"], maximum - 1.5)
    poverty = wb["GiamNgheo"]
    col = columns(poverty, POVERTY)
    rows = data_rows(poverty, POVERTY)
    named = [r for r in rows if poverty.cell(r, col["district_name"]).value]
    blank = [r for r in rows if r not in named]
    for r, unit in zip(blank, units[len(named):], strict=False):
        type_into(poverty, r, col["district_name"], unit)
        named.append(r)
    numbers = {"poor_households_start": 120, "female_headed_poor": 45,
               "households_out_of_poverty": 30, "households_out_of_near_poverty": 22,
               "female_headed_out_of_poverty": 12, "charity_homes": 3,
               "charity_homes_vnd": 151, "policy_loan_households": 80,
               "policy_loan_outstanding_vnd": 1235, "livelihood_packages": 15,
               "five_no_three_clean_households": 60}
    for r in named:
        for name, value in numbers.items():
            type_into(poverty, r, col[name], value)
    wb.save(path)
    return path


def findings(db, source_file: str) -> list[tuple]:
    return db.execute(
        "select v.rule, v.sheet, v.excel_row from audit.validation_results v"
        " join raw.submissions s using (submission_id) where s.source_file = %s",
        [source_file]).fetchall()


# ---------------------------------------------------------------- round trip

def test_filled_template_loads_without_findings(home, db, tmp_path):
    path = template.write_template("60", "2024", output=home.inbox / "60" / "BaoCao.xlsx")
    fill(path, units=("Thành phố Phan Thiết", "Huyện Hàm Thuận Bắc", "Huyện Bắc Bình"))
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted"], summary.results
    assert findings(db, "BaoCao.xlsx") == []
    counts = db.execute("select (select count(*) from raw.term_indicators),"
                        " (select count(*) from raw.emulation_scores),"
                        " (select count(*) from raw.poverty_support)").fetchone()
    assert counts == (12, 8, 3)  # the signature blocks are not data
    sheets = db.execute("select sheets from raw.submissions").fetchone()[0]
    assert sorted(sheets) == ["ChiTieu", "GiamNgheo", "ThiDua"]  # HuongDan is not read
    stored = db.execute("select target_value, actual_value from raw.term_indicators"
                        " where indicator_code in ('CT01', 'CT02') order by 1 desc").fetchall()
    assert [tuple(float(v) for v in r) for r in stored] == [(1000, 1040), (90, 86)]
    money = db.execute("select charity_homes_vnd from raw.poverty_support limit 1").fetchone()[0]
    assert money == 151_000_000  # triệu đồng, as the header says


@pytest.mark.slow
def test_every_template_of_a_round_loads_without_findings(home, db):
    """`lhpn template --all 2025`, every province fills its own and sends it back."""
    paths = template.write_all("2025")
    assert len(paths) == 34
    for path in paths:
        target = home.inbox / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(fill(path), target)
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted"] * 34
    assert db.execute("select count(*) from audit.validation_results").fetchone()[0] == 0


# ---------------------------------------------------------------- validation in the workbook

def validations(ws) -> list:
    return list(ws.data_validations.dataValidation)


def covering(ws, coordinate: str) -> list:
    return [dv for dv in validations(ws) if coordinate in dv.sqref]


def test_every_input_cell_carries_one_validation_and_labels_are_locked(home, tmp_path):
    wb = load_workbook(template.write_template("68", "2025", output=tmp_path / "t.xlsx"))
    assert wb.sheetnames == ["HuongDan", "ThongTin", "ChiTieu", "ThiDua", "GiamNgheo"]
    inputs = {"ChiTieu": {"target_value", "actual_value", "note"},
              "ThiDua": {"self_points", "reviewed_points"},
              "GiamNgheo": {c.name for c in SHEETS[POVERTY].columns}}
    for name, kind in (("ChiTieu", TERM), ("ThiDua", EMULATION), ("GiamNgheo", POVERTY)):
        ws = wb[name]
        col = columns(ws, kind)
        assert set(col) == {c.name for c in SHEETS[kind].columns}
        for r in data_rows(ws, kind):
            for column, j in col.items():
                cell = ws.cell(r, j)
                if column in inputs[name]:
                    assert cell.protection.locked is False and cell.fill.fgColor.rgb.endswith(
                        "FFF2CC"), f"{name}!{cell.coordinate} should be a shaded input"
                    assert len(covering(ws, cell.coordinate)) == 1, f"{name}!{cell.coordinate}"
                else:
                    assert cell.protection.locked is not False, f"{name}!{cell.coordinate}"
        for code_column in ("indicator_code", "criterion_code"):
            if code_column in col:
                first = ws.cell(data_rows(ws, kind)[0], col[code_column]).coordinate
                (dv,) = covering(ws, first)
                assert dv.type == "list" and ("CT01" in dv.formula1 or "TD01" in dv.formula1)
        assert ws.protection.sheet and not ws.protection.password  # an office can unlock
        for dv in validations(ws):
            assert dv.showErrorMessage and dv.errorStyle == "stop" and dv.prompt and dv.error
    info = wb["ThongTin"]
    for row in info.iter_rows(min_row=HEADER_ROW + 1):
        label, value = row[0], row[1]
        if label.value in ("Ngày lập", "Người lập", "Điện thoại / Email"):
            assert value.protection.locked is False and len(covering(info, value.coordinate)) == 1
        elif label.value:
            assert value.protection.locked is not False and value.value


@pytest.mark.parametrize("sheet,column,value,rule,carried", [
    ("GiamNgheo", "poor_households_start", -5, "negative_value",
     lambda dv, c: dv.type == "custom" and f"{c['poor_households_start']}>=0" in dv.formula1),
    ("GiamNgheo", "households_out_of_near_poverty", 12.5, "not_whole",
     lambda dv, c: (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")),
    ("GiamNgheo", "charity_homes_vnd", -1, "negative_value",
     lambda dv, c: (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")),
    ("GiamNgheo", "households_out_of_poverty", 500, "out_of_poverty_gt_poor",
     lambda dv, c: f"{c['households_out_of_poverty']}<={c['poor_households_start']}"
     in dv.formula1),
    ("GiamNgheo", "female_headed_out_of_poverty", 40, "female_out_gt_out",
     lambda dv, c: f"{c['female_headed_out_of_poverty']}<={c['households_out_of_poverty']}"
     in dv.formula1),
    ("GiamNgheo", "female_headed_poor", 5, "female_out_gt_female_poor",  # 12 headed out of 5
     lambda dv, c: f"{c['female_headed_poor']}>={c['female_headed_out_of_poverty']}"
     in dv.formula1),
    ("GiamNgheo", "district_name", "Xã Tân Lập", "duplicate_key",  # the first row's unit again
     lambda dv, c: dv.type == "custom" and "COUNTIF(" in dv.formula1),
    ("ThiDua", "self_points", 99, "self_points_over_max",
     lambda dv, c: (dv.type, dv.operator, dv.formula1, dv.formula2)
     == ("decimal", "between", "0", "$" + c["max_points"])),
    ("ThiDua", "reviewed_points", -2, "negative_value",
     lambda dv, c: (dv.type, dv.operator, dv.formula1) == ("decimal", "between", "0")),
    ("ChiTieu", "target_value", 12.5, "not_whole",  # CT01 counts members
     lambda dv, c: (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")),
    ("ChiTieu", "actual_value", -3, "negative_value",
     lambda dv, c: dv.type == "custom" and f"{c['actual_value']}>=0" in dv.formula1),
    ("ChiTieu", "indicator_code", "CT99", "unknown_code",
     lambda dv, c: dv.type == "list" and "CT12" in dv.formula1),
    ("ThongTin", "Ngày lập", "31/02/2025", "bad_date",
     lambda dv, c: (dv.type, dv.operator) == ("date", "greaterThanOrEqual")),
])
def test_a_broken_rule_is_refused_in_the_form_and_by_the_pipeline(
        home, db, sheet, column, value, rule, carried):
    """The value the pipeline rejects is one the form's validation refuses where it is typed."""
    path = fill(template.write_template("68", "2025", output=home.inbox / "68" / "t.xlsx"))
    wb = load_workbook(path)
    ws = wb[sheet]
    if sheet == "ThongTin":
        row = next(r[0].row for r in ws.iter_rows() if r[0].value == column)
        cell, refs = ws.cell(row, 2), {}
    else:
        kind = {"ChiTieu": TERM, "ThiDua": EMULATION, "GiamNgheo": POVERTY}[sheet]
        col = columns(ws, kind)
        row = data_rows(ws, kind)[1 if column == "district_name" else 0]
        cell = ws.cell(row, col[column])
        refs = {name: f"{ws.cell(row, j).column_letter}{row}" for name, j in col.items()}
    cell.value = value  # codes are locked: as typed by an office that unprotected the sheet
    (dv,) = covering(ws, cell.coordinate)
    first_row = min(r.min_row for r in dv.sqref.ranges)  # formulas are relative to the first
    refs = {k: v.replace(str(row), str(first_row)) for k, v in refs.items()}
    assert carried(dv, refs), (dv.type, dv.operator, dv.formula1, dv.formula2, str(dv.sqref))
    wb.save(path)

    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["rejected"]
    assert (rule, sheet, row) in findings(db, "t.xlsx")


# ---------------------------------------------------------------- printing

def test_every_sheet_prints_a4_landscape_one_page_wide(home, tmp_path):
    wb = load_workbook(template.write_template("01", "2024", output=tmp_path / "t.xlsx"))
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert (setup.paperSize, setup.orientation) == (9, "landscape"), ws.title  # 9: A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        pages_tall = 1 if ws.title == "HuongDan" else 0  # 0: as many as the rows need
        assert (setup.fitToWidth, setup.fitToHeight) == (1, pages_tall), ws.title
    for name in ("ChiTieu", "ThiDua", "GiamNgheo"):
        ws = wb[name]
        assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
        assert ws.freeze_panes == f"C{HEADER_ROW + 1}"
        assert all(c.alignment.wrap_text for c in ws[HEADER_ROW])
        texts = [c.value for row in ws.iter_rows(min_row=ws.max_row - 6) for c in row if c.value]
        assert "NGƯỜI LẬP BIỂU" in texts and "THỦ TRƯỞNG ĐƠN VỊ" in texts
        assert "(Ký tên, đóng dấu)" in texts
    assert "(huyện / thị xã / thành phố)" in wb["GiamNgheo"]["B3"].value


@pytest.mark.external
@needs_soffice
def test_libreoffice_prints_each_table_one_page_wide(home, tmp_path, monkeypatch):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed: apt-get install poppler-utils")
    from ingest.template import history

    communes = [f"Phường {i}" for i in range(1, 121)]  # a city of 2025 runs on to more pages
    monkeypatch.setattr(history, "load_history", lambda codes, p, t: {
        codes[0]: history.History(units=communes, units_period="2025")})
    path = template.write_template("79", "2025", output=tmp_path / "t.xlsx")
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=180)
    text = subprocess.run(["pdftotext", str(tmp_path / "t.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout
    pages = [" ".join(page.split()) for page in text.split("\f")[:-1]]
    for kind in (TERM, EMULATION, POVERTY):
        columns_ = SHEETS[kind].columns
        own = [p for p in pages  # this table's pages (the guide names labels, not STT)
               if "STT" in p and columns_[0].label in p and columns_[1].label in p]
        assert own, kind
        last_word = columns_[-1].label.split()[-1]  # header texts wrap: one word is whole
        for page in own:  # its last column is on every page that prints it
            assert last_word in page.split(columns_[1].label)[1], page[:300]
        if kind == POVERTY:
            assert len(own) > 1  # the header row is repeated on every page
            assert "Phường 120" in " ".join(own)
    assert sum("THỦ TRƯỞNG ĐƠN VỊ" in p for p in pages) == 3


# ---------------------------------------------------------------- LibreOffice keeps the checks

LO_INVALID = Path(__file__).with_name("libreoffice_invalid_cells.py")


def _lo_python() -> str | None:
    for python in ("/usr/bin/python3", shutil.which("python3")):
        if python and subprocess.run([python, "-c", "import uno"],
                                     capture_output=True).returncode == 0:
            return python
    return None


@pytest.mark.external
@needs_soffice
def test_validation_survives_a_libreoffice_round_trip(home, db, tmp_path):
    """A clerk fills the form and saves it with LibreOffice: the checks are still there and the
    file it writes is accepted."""
    original = fill(template.write_template("68", "2025", output=tmp_path / "t.xlsx"))
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "xlsx", "--outdir", str(tmp_path / "lo"), str(original)],
                   check=True, capture_output=True, timeout=180)
    before, after = load_workbook(original), load_workbook(tmp_path / "lo" / "t.xlsx")

    def kept(wb, name):  # LibreOffice writes operator/formula2 where Excel ignores them
        return {(dv.type, dv.operator if dv.type in ("whole", "decimal", "date", "textLength")
                 else None, dv.formula1, dv.formula2 if dv.operator == "between" and
                 dv.type != "custom" and dv.type != "list" else None, str(dv.sqref))
                for dv in wb[name].data_validations.dataValidation}

    for name in before.sheetnames:
        assert kept(after, name) == kept(before, name), name
        assert after[name].protection.sheet
        assert after[name].page_setup.fitToWidth == 1
    (home.inbox / "68").mkdir()
    shutil.copy(tmp_path / "lo" / "t.xlsx", home.inbox / "68" / "t.xlsx")
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted"], summary.results
    assert findings(db, "t.xlsx") == []


@pytest.mark.external
@needs_soffice
def test_libreoffice_marks_exactly_the_broken_cells_invalid(home, tmp_path):
    python = _lo_python()
    if python is None:
        pytest.skip("LibreOffice's Python bridge is not installed: apt-get install python3-uno")
    clean = fill(template.write_template("68", "2025", output=tmp_path / "clean.xlsx"))
    wb = load_workbook(clean)
    broken = {}
    poverty, col = wb["GiamNgheo"], columns(wb["GiamNgheo"], POVERTY)
    r1, r2 = data_rows(poverty, POVERTY)[:2]
    for ws, r, name, value in (
            (poverty, r1, "households_out_of_poverty", 500),  # > Hộ nghèo đầu kỳ
            (poverty, r1, "households_out_of_near_poverty", 12.5),
            (poverty, r1, "charity_homes_vnd", -1),
            (poverty, r2, "district_name", "Xã Tân Lập"),  # twice
            (poverty, r2, "female_headed_poor", 5),  # < its female-headed out of poverty
    ):
        ws.cell(r, col[name]).value = value
        broken.setdefault(ws.title, set()).add(ws.cell(r, col[name]).coordinate)
    for r, name in ((r1, "district_name"),  # the other one of the two
                    (r1, "poor_households_start"),  # < its households out of poverty
                    (r2, "female_headed_out_of_poverty")):  # > its female-headed poor
        broken["GiamNgheo"].add(poverty.cell(r, col[name]).coordinate)
    scores, col = wb["ThiDua"], columns(wb["ThiDua"], EMULATION)
    scores.cell(data_rows(scores, EMULATION)[0], col["self_points"]).value = 99
    broken["ThiDua"] = {scores.cell(data_rows(scores, EMULATION)[0], col["self_points"]).coordinate}
    term, col = wb["ChiTieu"], columns(wb["ChiTieu"], TERM)
    rows = data_rows(term, TERM)
    term.cell(rows[0], col["actual_value"]).value = "3.562/5.000"  # a fraction is fine
    term.cell(rows[2], col["actual_value"]).value = 12.5  # CT03 counts households
    broken["ChiTieu"] = {term.cell(rows[2], col["actual_value"]).coordinate}
    wb.save(tmp_path / "broken.xlsx")

    def invalid(path: Path) -> dict[str, set[str]]:
        out = subprocess.run([python, str(LO_INVALID), str(path)], check=True,
                             capture_output=True, text=True, timeout=300).stdout
        import json

        return {sheet: set(cells) for sheet, cells in json.loads(out).items() if cells}

    assert invalid(clean) == {}
    assert invalid(tmp_path / "broken.xlsx") == broken


# ---------------------------------------------------------------- pre-filled from the warehouse

def test_targets_and_units_come_from_the_latest_current_report(home, db, tmp_path):
    old = report("51", "2023", districts=3)
    old.term_rows = [{"code": "CT01", "target": 4000, "actual": 900},
                     {"code": "CT02", "target": 80, "actual": "60%"}]
    drop(home.inbox, old)
    latest = report("51", "2024", districts=3)
    latest.term_rows = [{"code": "CT01", "target": 5000, "actual": 2100},
                        {"code": "CT02", "target": 85, "actual": "70%"}]
    drop(home.inbox, latest)
    pipeline.process_files(pipeline.list_inbox())
    resent = report("51", "2024", districts=4, seed=7)  # a resubmission: version 2 is current
    resent.term_rows = latest.term_rows
    drop(home.inbox, resent, name="BC_51_2024_v2.xlsx")
    pipeline.process_files(pipeline.list_inbox())
    units = [r[0] for r in db.execute(
        "select p.district_name from raw.poverty_support p join raw.submissions s"
        " using (submission_id) where s.source_file = 'BC_51_2024_v2.xlsx' and not p.is_total"
        " order by p.excel_row")]
    assert len(units) == 4

    path = template.write_template("51", "2025-6T", output=home.inbox / "51" / "t.xlsx")
    wb = load_workbook(path)
    term, col = wb["ChiTieu"], columns(wb["ChiTieu"], TERM)
    targets = {term.cell(r, col["indicator_code"]).value: term.cell(r, col["target_value"])
               for r in data_rows(term, TERM)}
    assert targets["CT01"].value == 5000
    assert targets["CT02"].value == 0.85 and targets["CT02"].number_format == "0%"
    # only the indicators of the province's resolution are listed, then spare rows to add one
    listed = [term.cell(r, col["indicator_code"]).value for r in data_rows(term, TERM)]
    assert listed == ["CT01", "CT02", *[None] * template.SPARE_INDICATOR_ROWS]
    poverty, col = wb["GiamNgheo"], columns(wb["GiamNgheo"], POVERTY)
    prefilled = [poverty.cell(r, col["district_name"]).value for r in data_rows(poverty, POVERTY)]
    assert prefilled[:4] == units and set(prefilled[4:]) == {None}
    assert all(poverty.cell(r, col["poor_households_start"]).value is None
               for r in data_rows(poverty, POVERTY))  # no number is pre-filled
    assert any("báo cáo kỳ 2024" in (c.value or "") for c in wb["HuongDan"]["A"])

    # left as pre-filled, the targets load as the very values the warehouse has
    fill(path, keep_targets=True)
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted"], summary.results
    loaded = dict(db.execute(
        "select t.indicator_code, t.target_value::float8 from raw.term_indicators t"
        " join raw.submissions s using (submission_id) where s.source_file = 't.xlsx'"
        " and t.indicator_code in ('CT01', 'CT02')").fetchall())
    assert loaded == {"CT01": 5000, "CT02": 85}

    # the same code after 1 July 2025 is another province: nothing of the old one is carried
    after = load_workbook(template.write_template("51", "2025", output=tmp_path / "new.xlsx"))
    col = columns(after["ChiTieu"], TERM)
    assert {after["ChiTieu"].cell(r, col["target_value"]).value
            for r in data_rows(after["ChiTieu"], TERM)} == {None}
    assert "(xã / phường / đặc khu)" in after["GiamNgheo"]["B3"].value
    assert after["GiamNgheo"].cell(HEADER_ROW + 1, 2).value is None


# ---------------------------------------------------------------- the command line

def test_template_all_writes_one_per_province_into_the_outbox(home, tmp_path, monkeypatch):
    monkeypatch.setenv("LHPN_OUTBOX", str(tmp_path / "outbox"))
    result = CliRunner().invoke(cli.main, ["template", "--all", "2025"])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "outbox").glob("*/*.xlsx"))
    assert len(files) == 34 and "34" in result.output
    assert all(f.name == f"BaoCao_{f.parent.name}_2025.xlsx" for f in files)
    assert not list((tmp_path / "outbox").rglob(".*.tmp"))
    result = CliRunner().invoke(cli.main, ["template", "--all", "2024", "--no-prefill"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "outbox").glob("*/BaoCao_*_2024.xlsx"))) == 63


@pytest.mark.parametrize("args,message", [
    (["template", "--all"], "PERIOD"),
    (["template", "--all", "68", "2025"], "PERIOD"),
    (["template", "--all", "2025", "-o", "x.xlsx"], "outbox"),
    (["template", "--all", "2025-13T"], "invalid period"),
])
def test_template_all_bad_arguments_are_usage_errors(args, message):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_command_line_entry_point_writes_a_template(home, tmp_path):
    out = subprocess.run([sys.executable, "-m", "ingest.cli.main", "template", "68", "2025",
                          "-o", str(tmp_path / "t.xlsx")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "t.xlsx").exists()


def test_numbers_read_the_same_whatever_the_office_locale(tmp_path):
    """Counts and money show 2.800 under any locale (literal dots, no locale grouping sign), and
    money takes whole triệu only: 1.284 typed in an English-locale Excel (1,284) is refused."""
    from ingest.template.form import WHOLE_FORMAT

    path = template.write_template("68", "2025", output=tmp_path / "t.xlsx", prefill=False)
    wb = load_workbook(path)
    lay = {c.label: c for c in SHEETS[POVERTY].columns}
    formats = {cell.number_format for ws in wb.worksheets for row in ws.iter_rows()
               for cell in row}
    assert not any("#,##" in f or "#.##" in f for f in formats), formats  # no locale grouping
    ws = wb["GiamNgheo"]
    header = next(r for r in ws.iter_rows() if any(c.value in lay for c in r))
    columns = {c.value: c.column_letter for c in header if c.value in lay}
    first = header[0].row + 1
    for label, letter in columns.items():
        if lay[label].kind in ("count", "money"):
            assert ws[f"{letter}{first}"].number_format == WHOLE_FORMAT, label
    money = [letter for label, letter in columns.items() if lay[label].kind == "money"]
    assert money
    for letter in money:
        [dv] = [dv for dv in ws.data_validations.dataValidation
                if f"{letter}{first}" in dv.sqref]
        assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")
        assert "1284" in dv.error
    guide = " ".join(str(c.value) for row in wb["HuongDan"].iter_rows() for c in row if c.value)
    assert "gõ số không có dấu ngăn cách: 1284, không gõ 1.284" in guide


@pytest.mark.external
def test_a_count_shows_with_dots_under_an_english_locale(tmp_path):
    """LibreOffice set to en-US shows a count of 2800 as 2.800, never 2,800."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    from openpyxl import Workbook

    from ingest.template.form import WHOLE_FORMAT

    wb = Workbook()
    ws = wb.active
    for i, value in enumerate((7, 2800, 1284567)):
        ws.cell(i + 1, 1, value).number_format = WHOLE_FORMAT
    wb.save(tmp_path / "n.xlsx")
    env = {**os.environ, "HOME": str(tmp_path), "LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8"}
    subprocess.run([soffice, "--headless", "--norestore", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true",
                    "--outdir", str(tmp_path), str(tmp_path / "n.xlsx")],
                   check=True, capture_output=True, timeout=180, env=env)
    shown = (tmp_path / "n.csv").read_text(encoding="utf-8").split()
    assert shown == ["7", '"2.800"', '"1.284.567"'] or shown == ["7", "2.800", "1.284.567"]
