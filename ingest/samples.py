"""Realistic province report workbooks, written in code.

Used for the bundled sample reports of a first `lhpn run`, by the tests' fixtures and by the
benchmark corpus. The workbooks look like what offices send: title rows, merged cells, an STT
column, Vietnamese number text, a total row, notes and a signature block under the table.
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ingest import settings
from ingest.model import EMULATION, POVERTY, TERM
from ingest.periods import parse_period, term_for
from ingest.read.layout import SHEETS
from ingest.read.numbers import vn_number
from ingest.reference import communes_of, indicators_of, province_name


@dataclass
class Report:
    """The content of one report; values as they should be written in the cells."""

    province_code: str
    period: str
    term: str | None = None
    report_date: date | None = None
    province_name: str | None = None
    prepared_by: str = "Nguyễn Thị Lan"
    contact: str = "0912 345 678 / lan.nt@hoilhpn.vn"
    term_rows: list[dict] | None = None  # code, target, actual, note
    emulation_rows: list[dict] | None = None  # code, max, self, reviewed
    poverty_rows: list[dict] | None = None  # district_name + canonical count/money columns
    poverty_total: str | None = "sum"  # "sum", "wrong" or None (no total row)
    info_overrides: dict[str, object] = field(default_factory=dict)  # label -> value

    def __post_init__(self):
        period = parse_period(self.period)
        if self.term is None and period is not None:
            self.term = term_for(period).code
        if self.province_name is None:
            self.province_name = province_name(self.province_code, period) or "?"
        if self.report_date is None and period is not None:
            self.report_date = min(period.end, settings.today())


def info_rows(report: Report) -> list[tuple[str, object]]:
    rows = {
        "Mã tỉnh": report.province_code,
        "Tên tỉnh": report.province_name,
        "Kỳ báo cáo": report.period,
        "Nhiệm kỳ": report.term,
        "Ngày lập": report.report_date.strftime("%d/%m/%Y") if report.report_date else "",
        "Người lập": report.prepared_by,
        "Điện thoại / Email": report.contact,
    }
    rows.update(report.info_overrides)
    return [(k, v) for k, v in rows.items() if v is not None]


def table_rows(report: Report, kind: str, *, vn_text: bool = True) -> list[list[object]]:
    """Header + rows of one data sheet, with the total row for poverty sheets."""
    lay = SHEETS[kind]
    header = [c.label for c in lay.columns]

    def cell(v):
        if v is None:
            return None
        if isinstance(v, int | float) and vn_text:
            return vn_number(v)
        return v

    body: list[list[object]] = []
    if kind == TERM:
        catalogue = indicators_of("term")
        for r in report.term_rows or []:
            ind = catalogue.get(r["code"])
            body.append([r["code"], ind.name_vi if ind else r.get("text", ""),
                         ind.unit if ind else "", cell(r.get("target")), cell(r.get("actual")),
                         r.get("note")])
    elif kind == EMULATION:
        catalogue = indicators_of("emulation")
        for r in report.emulation_rows or []:
            ind = catalogue.get(r["code"])
            body.append([r["code"], ind.name_vi if ind else "", cell(r.get("max")),
                         cell(r.get("self")), cell(r.get("reviewed"))])
    else:
        names = [c.name for c in lay.columns]
        for r in report.poverty_rows or []:
            body.append([r.get("district_name")] + [cell(r.get(n)) for n in names[1:]])
        if report.poverty_total and report.poverty_rows:
            total = ["Tổng cộng"]
            for n in names[1:]:
                values = [r.get(n) for r in report.poverty_rows if r.get(n) is not None]
                s = sum(values) if values else None
                if report.poverty_total == "wrong" and s is not None and n == names[1]:
                    s += 7
                total.append(cell(s))
            body.append(total)
    return [header, *body]


def _sheets_of(report: Report) -> list[str]:
    return [k for k, rows in ((TERM, report.term_rows), (EMULATION, report.emulation_rows),
                              (POVERTY, report.poverty_rows)) if rows is not None]


def write_xlsx(report: Report, path: Path, *, messy: bool = True, vn_text: bool = True,
               ascii_headers: bool = False, money_unit: str = "triệu đồng") -> Path:
    """A workbook as an office makes it. `messy` adds titles, merges, STT, notes, blank rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from ingest.read.layout import fold, strip_diacritics

    wb = Workbook()
    info = wb.active
    info.title = "ThongTin"
    start = 1
    if messy:
        info["A1"] = f"HỘI LHPN TỈNH {str(report.province_name).upper()}"
        info["A1"].font = Font(bold=True)
        info.merge_cells("A1:B1")
        start = 3
    for i, (label, value) in enumerate(info_rows(report)):
        info.cell(start + i, 1, label)
        info.cell(start + i, 2, value)
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 40

    for kind in _sheets_of(report):
        ws = wb.create_sheet(SHEETS[kind].sheet_name)
        rows = table_rows(report, kind, vn_text=vn_text)
        header = rows[0]
        if money_unit != "triệu đồng":
            header = [h.replace("triệu đồng", money_unit) for h in header]
        if ascii_headers:
            header = [strip_diacritics(h).upper() for h in header]  # typed without diacritics
        col0 = 1
        r = 1
        if messy:
            title = ws.cell(1, 1, f"HỘI LHPN TỈNH {str(report.province_name).upper()}")
            title.font = Font(bold=True)
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header) + 1)
            ws.cell(2, 1, f"BÁO CÁO KẾT QUẢ {SHEETS[kind].sheet_name.upper()} - KỲ {report.period}")
            ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(header) + 1)
            ws.cell(2, 1).alignment = Alignment(horizontal="center")
            r = 4
            ws.cell(r, 1, "STT")
            col0 = 2
        for j, h in enumerate(header):
            c = ws.cell(r, col0 + j, h)
            c.alignment = Alignment(wrap_text=True)
            if messy and "\n" not in h and len(h) > 18:
                c.value = h.replace(" ", "\n", 1)  # line breaks inside header cells
        for n, row in enumerate(rows[1:], start=1):
            r += 1
            if messy and n == 3:
                r += 1  # a blank row inside the table
            is_total = fold(row[0]) == fold("Tổng cộng")
            if messy:
                ws.cell(r, 1, None if is_total else n)
            for j, v in enumerate(row):
                ws.cell(r, col0 + j, v)
        if messy:
            ws.cell(r + 2, 1, "Ghi chú: số liệu tính đến ngày lập báo cáo.")
            ws.merge_cells(start_row=r + 2, start_column=1, end_row=r + 2, end_column=4)
            ws.cell(r + 4, col0 + 2, "NGƯỜI LẬP BIỂU")
            ws.cell(r + 4, col0 + 5, "TM. BAN THƯỜNG VỤ")
            ws.cell(r + 7, col0 + 2, report.prepared_by)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_csv(report: Report, path: Path, *, delimiter: str = ";", bom: bool = True) -> Path:
    """A csv file: ThongTin lines, a blank line, then the report's one data sheet."""
    kinds = _sheets_of(report)
    if len(kinds) != 1:
        raise ValueError("a csv report carries exactly one data sheet")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        for label, value in info_rows(report):
            w.writerow([label, value])
        w.writerow([])
        for row in table_rows(report, kinds[0]):
            w.writerow(["" if v is None else v for v in row])
    return path


def write_ods(report: Report, path: Path) -> Path:
    """An OpenDocument workbook (plain layout)."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame(info_rows(report)).to_excel(writer, sheet_name="ThongTin", index=False,
                                                 header=False)
        for kind in _sheets_of(report):
            rows = table_rows(report, kind)
            pd.DataFrame(rows[1:], columns=rows[0]).to_excel(
                writer, sheet_name=SHEETS[kind].sheet_name, index=False)
    return path


def write_xls(report: Report, path: Path) -> Path:
    """A legacy Excel 97-2003 workbook (plain layout)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    info = book.add_sheet("ThongTin")
    for i, (label, value) in enumerate(info_rows(report)):
        info.write(i, 0, label)
        info.write(i, 1, value)
    for kind in _sheets_of(report):
        ws = book.add_sheet(SHEETS[kind].sheet_name)
        for i, row in enumerate(table_rows(report, kind, vn_text=False)):
            for j, v in enumerate(row):
                if v is not None:
                    ws.write(i, j, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


# ---------------------------------------------------------------- realistic content

DISTRICT_WORDS = ("Thành phố", "Thị xã", "Huyện")
DISTRICT_NAMES = ("Bắc Bình", "Tuy Phong", "Hàm Thuận Bắc", "Hàm Thuận Nam", "Hàm Tân",
                  "Đức Linh", "Tánh Linh", "Phú Quý", "La Gi", "Phan Thiết", "Sơn Tịnh",
                  "Bình Sơn", "Tư Nghĩa", "Mộ Đức", "Đức Phổ", "Ba Tơ", "Minh Long", "Lý Sơn")


def random_report(rng: random.Random, province_code: str, period: str, *, districts: int = 9,
                  met: int | None = None, sheets: tuple[str, ...] = (TERM, EMULATION, POVERTY),
                  ) -> Report:
    """A plausible, contract-valid report. `met` = how many of 8 term indicators are met."""
    p = parse_period(period)
    report = Report(province_code, period)
    if TERM in sheets:
        codes = list(indicators_of("term"))[:8]
        met = rng.randint(5, 8) if met is None else met
        rows = []
        for n, code in enumerate(codes):
            ind = indicators_of("term")[code]
            reached = n < met
            if ind.value_type == "percent":
                target = rng.choice([80, 85, 90, 95])
                actual = f"{vn_number(target + rng.choice([0, 2, 5]) if reached else target - 7)}%"
            else:
                target = rng.randrange(500, 6000, 50)
                share = rng.uniform(1.0, 1.3) if reached else rng.uniform(.6, .95)
                actual = round(target * share)
                if ind.direction == "lower":
                    target, actual = 5, (4 if reached else 8)
            rows.append({"code": code, "target": target, "actual": actual})
        report.term_rows = rows
    if EMULATION in sheets and p is not None and p.kind == "annual":
        rows = []
        for code, ind in indicators_of("emulation").items():
            mx = ind.max_points
            self_pts = round(mx * rng.uniform(0.75, 1.0), 1)
            reviewed = (round(self_pts - rng.choice([0, 0, 0.5, 1]), 1) if rng.random() < .7
                        else None)
            rows.append({"code": code, "max": mx, "self": self_pts, "reviewed": reviewed})
        report.emulation_rows = rows
    if POVERTY in sheets:
        rows = []
        communes = p is not None and p.uses_new_codes and bool(communes_of(province_code))
        if communes:
            names = sorted(c.name for found in communes_of(province_code).values() for c in found)
            names = rng.sample(names, min(districts, len(names)))
            districts = len(names)
        else:
            names = rng.sample(DISTRICT_NAMES, min(districts, len(DISTRICT_NAMES)))
        for i in range(districts):
            if communes:  # real communes of the province (contract §2, communes_2025.csv)
                name = names[i]
            else:
                name = f"{rng.choice(DISTRICT_WORDS)} {names[i % len(names)]}" + (
                    f" {i // len(names) + 1}" if i >= len(names) else "")
            poor = rng.randint(200, 3000)
            female_poor = rng.randint(poor // 5, poor // 2)
            out = rng.randint(poor // 10, poor // 3)
            rows.append({
                "district_name": name,
                "poor_households_start": poor,
                "female_headed_poor": female_poor,
                "households_out_of_poverty": out,
                "households_out_of_near_poverty": rng.randint(10, 300),
                "female_headed_out_of_poverty": rng.randint(0, min(out, female_poor)),
                "charity_homes": rng.randint(0, 20),
                "charity_homes_vnd": round(rng.uniform(0, 900), 1),
                "policy_loan_households": rng.randint(500, 9000),
                "policy_loan_outstanding_vnd": round(rng.uniform(20_000, 300_000)),
                "livelihood_packages": rng.randint(0, 200),
                "five_no_three_clean_households": rng.randint(1000, 20000),
            })
            if communes:  # the optional columns offices began to send with the commune reports
                rows[-1]["savings_loan_groups"] = rng.randint(5, 60)
                rows[-1]["overdue_loans_vnd"] = round(
                    rows[-1]["policy_loan_outstanding_vnd"] * rng.uniform(0, 0.02), 1)
        report.poverty_rows = rows
    return report


SAMPLE_PROVINCES = ("51", "49", "56", "54", "52", "35", "60")


def _dropped_on(path: Path, day: date) -> Path:
    """Date the file as if the province had saved it that day: its modification time, kept as
    file_modified_at (received is when the warehouse first sees it, contract §7)."""
    stamp = datetime.combine(day, datetime.min.time()).replace(hour=9).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def write_samples(inbox: Path) -> list[Path]:
    """The bundled sample reports of a first run: several provinces and periods, one bad file."""
    rng = random.Random(2024)
    written: list[Path] = []
    for code in SAMPLE_PROVINCES:
        report = random_report(rng, code, "2024", met=7 if code == "51" else None)
        path = write_xlsx(report, inbox / code / f"BC_{code}_nam_2024.xlsx")
        written.append(_dropped_on(path, date(2024, 12, 20 if code == "52" else 10)))  # 52 late
    half = random_report(rng, "60", "2025-6T", sheets=(POVERTY,))
    path = write_csv(half, inbox / "60" / "BC_60_6thang_2025.csv")
    written.append(_dropped_on(path, date(2025, 6, 12)))
    # after the merger: Lâm Đồng (68) took in Bình Thuận (60) and Đắk Nông (67)
    merged = random_report(rng, "68", "2025", sheets=(TERM, POVERTY))
    path = write_xlsx(merged, inbox / "68" / "BC_68_nam_2025.xlsx")
    written.append(_dropped_on(path, date(2025, 12, 11)))
    # the bad one: more households out of poverty than there were poor households
    bad = random_report(rng, "37", "2024", sheets=(POVERTY,))
    row = bad.poverty_rows[1]
    row["households_out_of_poverty"] = row["poor_households_start"] + 40
    path = write_xlsx(bad, inbox / "37" / "BC_37_nam_2024.xlsx")
    written.append(_dropped_on(path, date(2024, 12, 12)))
    return written
