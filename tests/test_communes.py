"""Vietnam after 1 July 2025 (issue 21, contract §1, §2, §4, §5): the 3,321 communes as the
GiamNgheo units of 2025+ reports, the terms after the reform, the optional savings-group and
overdue-debt columns, and the marts by commune. Workbooks are built as offices make them
(`ingest.samples`), with real commune names taken from the seed, and go through the real
pipeline and dbt build on the embedded PostgreSQL."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from openpyxl import load_workbook

from ingest import pipeline, template
from ingest.marts.build import refresh_marts
from ingest.model import POVERTY, TERM
from ingest.reference import communes, communes_of, match_commune
from tests.test_validate import build, checked, found, one
from tests.workbooks import drop, report

# Four real communes of the new Lâm Đồng (68) from communes_2025.csv, each written as a clerk
# might: type word abbreviated or missing, other case, no diacritics, extra spaces.
LAM_DONG = {
    "P. Xuân Hương - Đà Lạt": ("24781", "Phường Xuân Hương - Đà Lạt"),
    "xã  Đắk Mil": ("24670", "Xã Đắk Mil"),
    "Vinh Hao": ("22981", "Xã Vĩnh Hảo"),
    "ĐẶC KHU PHÚ QUÝ": ("23272", "Đặc khu Phú Quý"),
}


def lam_dong_2025(units=tuple(LAM_DONG), *, seed: int = 1, term: str = "2025-2030"):
    rep = report("68", "2025", seed=seed, sheets=(TERM, POVERTY), districts=len(units))
    for row, name in zip(rep.poverty_rows, units, strict=True):
        row["district_name"] = name
    rep.term = term
    return rep


def build_marts() -> None:
    """What `lhpn run` does after a load: build the marts the load made stale (all of them when
    the calendar or the dbt project moved since the last build)."""
    assert refresh_marts()["plan"] != "none"


def codes(parsed) -> list[str | None]:
    return [None if pd.isna(c) else c for c in parsed.sheets[POVERTY].frame["commune_code"]]


def errors_report(home, province: str, name: str) -> str:
    return (home.quarantine / province / f"{name}.errors.txt").read_text(encoding="utf-8")


def test_the_seed_holds_the_official_list():
    assert len(communes()) == 3321
    assert sum(len(found) for found in communes_of("68").values()) == 124
    for written, (code, name) in LAM_DONG.items():
        match = match_commune("68", written)
        assert (match.status, match.commune.code, match.commune.name) == ("ok", code, name)


# ---------------------------------------------------------------- through the pipeline

@pytest.mark.slow
def test_a_2025_report_of_lam_dong_loads_its_communes_with_their_codes(home, db):
    rep = lam_dong_2025()
    rep.poverty_rows[0].update(savings_loan_groups=12, overdue_loans_vnd=150,  # triệu đồng
                               policy_loan_outstanding_vnd=60_000)
    drop(home.inbox, rep)
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted"], summary.results
    build_marts()

    assert db.execute("select count(*) from reference.communes_2025").fetchone()[0] == 3321
    assert db.execute("select count(*) from marts.communes").fetchone()[0] == 3321
    rows = db.execute(
        "select unit_name_as_written, commune_code, commune_name, province_code, province_name,"
        " savings_loan_groups, overdue_loans_vnd, overdue_ratio_pct"
        " from marts.poverty_support_by_commune where period = '2025' order by excel_row"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (written, code, name) for written, (code, name) in LAM_DONG.items()]
    assert {(r[3], r[4]) for r in rows} == {("68", "Lâm Đồng")}
    assert rows[0][5:] == (12, 150_000_000, 0.25)  # 150 ÷ 60.000 × 100
    outcomes = db.execute("select savings_loan_groups, term from marts.poverty_support_outcomes"
                          " join marts.term_scorecard using (province_code, period)"
                          " where period = '2025'").fetchone()
    assert outcomes == (sum(r["savings_loan_groups"] for r in rep.poverty_rows), "2025-2030")
    # the province page lists its communes' figures
    from ingest.pages.site import build_site

    build_site(parts={"provinces"}, dbt_docs_refresh=False)
    page = (home.site / "province" / "68.html").read_text(encoding="utf-8")
    assert all(f'data-commune="{code}"' in page for code, _ in LAM_DONG.values())


@pytest.mark.slow
def test_a_misspelt_commune_is_rejected_naming_the_closest_one(home, db):
    drop(home.inbox, lam_dong_2025(("Xã Đắk Mill", "Xã Vĩnh Hảo")))
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["rejected"]
    text = errors_report(home, "68", "BC_68_2025.xlsx")
    assert "'Xã Đắk Mill' không phải là xã, phường hoặc đặc khu của Lâm Đồng" in text
    assert "Có phải: Xã Đắk Mil" in text and "Did you mean: Xã Đắk Mil" in text
    assert db.execute("select count(*) from raw.poverty_support").fetchone()[0] == 0


@pytest.mark.slow
def test_a_commune_of_another_province_is_rejected_naming_that_province(home, db):
    drop(home.inbox, lam_dong_2025(("Phường Ba Đình", "Xã Vĩnh Hảo")))
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["rejected"]
    rules = db.execute("select rule, excel_row, value from audit.validation_results").fetchall()
    assert rules == [("commune_other_province", 5, "Phường Ba Đình")]
    text = errors_report(home, "68", "BC_68_2025.xlsx")
    assert "'Phường Ba Đình' thuộc tỉnh khác: Hà Nội (mã 01), không thuộc Lâm Đồng" in text
    assert "belongs to another province: Hà Nội (code 01)" in text
    # one sentence per language, never "…Lâm Đồng: Có phải: …?"
    assert ": Có phải:" not in text and "own: Did you mean:" not in text
    assert "Nếu là đơn vị của Lâm Đồng thì có phải là " in text
    assert "If it is one of Lâm Đồng's own, did you mean " in text


@pytest.mark.slow
def test_2021_2025_and_2021_2026_are_one_term(home, db):
    reviewed = report("60", "2024", sheets=(TERM,), term="2021-2025")
    reviewed.term_rows = [{"code": "CT01", "target": 5000, "actual": 4200}]
    opened = report("60", "GK-2023", sheets=(TERM,), term="2021-2026")
    opened.term_rows = [{"code": "CT01", "target": 5000, "actual": 2100}]
    drop(home.inbox, reviewed)
    drop(home.inbox, opened)
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted", "accepted"], summary.results
    build_marts()
    # the raw keeps what was typed; the marts store one label
    assert sorted(r[0] for r in db.execute("select term from raw.submissions")) == [
        "2021-2025", "2021-2026"]
    terms = db.execute("select term, count(*) from marts.term_scorecard"
                       " where province_code = '60' group by term").fetchall()
    assert terms == [("2021-2026", 2)]
    # the receipt names the stored term, as its scorecard line does, and the typed label once
    receipt = (home.outbox / "60" / "BC_60_2024.xlsx.receipt.txt").read_text(encoding="utf-8")
    assert "Nhiệm kỳ: 2021-2026 (ghi trong tệp: 2021-2025)" in receipt
    assert "Term: 2021-2026 (as written in the file: 2021-2025)" in receipt
    assert receipt.count("2021-2025") == 2, receipt
    same = (home.outbox / "60" / "BC_60_GK-2023.xlsx.receipt.txt").read_text(encoding="utf-8")
    assert "Nhiệm kỳ: 2021-2026\n" in same and "ghi trong tệp" not in same
    # the template of that term pre-fills the target reported under the other label
    wb = load_workbook(template.write_template("60", "2025-6T", output=home.root / "t.xlsx"))
    values = [c.value for row in wb["ChiTieu"].iter_rows() for c in row]
    assert 5000 in values and "2021-2026" in [c.value for c in wb["ThongTin"]["B"]]


@pytest.mark.slow
def test_a_merged_province_scores_against_its_2025_2030_term(home, db):
    old = report("68", "2024", sheets=(TERM,))  # the old Lâm Đồng, term 2021-2026
    old.term_rows = [{"code": "CT01", "target": 9000, "actual": 9100}]
    wrong = lam_dong_2025(term="2021-2026")
    drop(home.inbox, old)
    drop(home.inbox, wrong, name="BC_68_2025_sai.xlsx")
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted", "rejected"], summary.results
    assert "theo nhiệm kỳ 2025-2030" in errors_report(home, "68", "BC_68_2025_sai.xlsx")

    # the congress of the merged province has its own targets: nothing of 2024 is carried
    wb = load_workbook(template.write_template("68", "2025", output=home.root / "t.xlsx"))
    assert 9000 not in [c.value for row in wb["ChiTieu"].iter_rows() for c in row]

    right = lam_dong_2025()
    right.term_rows = [{"code": "CT01", "target": 12000, "actual": 1500},
                       {"code": "CT06", "target": 800, "actual": 820}]
    drop(home.inbox, right)
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted"], summary.results
    build_marts()
    cards = db.execute("select term, period, scorecard_label from marts.term_scorecard"
                       " where province_code = '68' order by period").fetchall()
    assert cards == [("2021-2026", "2024", "1/1"), ("2025-2030", "2025", "1/2")]

    # the next template of the term pre-fills its own targets and its communes
    wb = load_workbook(template.write_template("68", "2026-6T", output=home.root / "u.xlsx"))
    values = [c.value for ws in (wb["ChiTieu"], wb["GiamNgheo"]) for row in ws.iter_rows()
              for c in row]
    assert 12000 in values and 9000 not in values
    assert all(name in values for _, name in LAM_DONG.values())  # official names
    assert not set(LAM_DONG) & set(values)


# ---------------------------------------------------------------- validation

def test_a_unit_listed_twice_is_one_finding(tmp_path):
    units = ("Xã Đắk Mil", "XA DAK MIL", "Xã Phước Thể", "Xã Phước Thể", "Xã Vĩnh Hảo")
    (parsed,) = checked(build(tmp_path, lam_dong_2025(units)))
    assert sorted((f.rule, f.excel_row) for f in parsed.findings) == [
        ("duplicate_key", 6), ("unknown_commune", 8)]
    assert "dòng 5" in one(parsed, "duplicate_key").message_vi


def test_before_2025_units_stay_free_text(tmp_path):
    rep = report("60", "2025-6T", sheets=(POVERTY,), districts=2)
    rep.poverty_rows[0]["district_name"] = "Huyện Không Có Thật"
    (parsed,) = checked(build(tmp_path, rep))
    assert parsed.findings == []
    assert set(codes(parsed)) == {None}


def test_a_review_of_an_old_code_after_the_merger_names_the_province_it_became(tmp_path):
    rep = report("60", "TK-2025", sheets=(TERM,), term="2021-2025")
    rep.province_name = "Bình Thuận"
    (parsed,) = checked(build(tmp_path, rep))
    f = one(parsed, "province_code_ended")
    assert "tỉnh nay thuộc Lâm Đồng (mã 68)" in f.message_vi
    assert not found(parsed, "unknown_province")


def test_overdue_debt_and_savings_groups_are_checked(tmp_path):
    rep = lam_dong_2025(("Xã Vĩnh Hảo", "Xã Đắk Mil"))
    rep.poverty_rows[0].update(policy_loan_outstanding_vnd=1000, overdue_loans_vnd=1200)
    rep.poverty_rows[1].update(savings_loan_groups=2.5)
    (parsed,) = checked(build(tmp_path, rep))
    overdue = one(parsed, "overdue_gt_outstanding")
    assert (overdue.excel_row, overdue.column, overdue.value) == (
        5, "Nợ quá hạn (triệu đồng)", "1.200")
    whole = one(parsed, "not_whole")
    assert (whole.excel_row, whole.column) == (6, "Tổ tiết kiệm và vay vốn (tổ)")
    frame = checked(build(tmp_path, lam_dong_2025(("Xã Vĩnh Hảo",)), name="ok.xlsx"))[0]
    assert frame.findings == [] and codes(frame) == ["22981", None]  # the unit, the total row


def test_samples_report_2025_in_the_new_term_with_real_communes():
    rep = report("68", "2025", seed=5, districts=6)
    assert rep.term == "2025-2030"
    assert all(match_commune("68", r["district_name"]).status == "ok" for r in rep.poverty_rows)
    assert report("60", "2024").term == "2021-2026"
    assert all(match_commune("79", r["district_name"]).status == "ok"
               for r in report("79", "2026", seed=random.Random(1).randint(0, 9)).poverty_rows)
