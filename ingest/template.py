"""`lhpn template`: a blank workbook, pre-filled for one province and period, that the reader
accepts back once the numbers are typed in."""

from __future__ import annotations

from pathlib import Path

from ingest.model import EMULATION, POVERTY, TERM
from ingest.periods import parse_period, parse_term, term_for
from ingest.read.layout import SHEETS
from ingest.reference import indicators_of, provinces_for


def write_template(province_code: str, period: str, *, term: str | None = None,
                   output: str | Path | None = None) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    p = parse_period(period)
    if p is None:
        raise ValueError(f"Kỳ báo cáo không hợp lệ / invalid period '{period}': use YYYY, "
                         "YYYY-6T, GK-YYYY or TK-YYYY.")
    code = province_code.strip().zfill(2)
    provinces = provinces_for(p)
    if code not in provinces:
        raise ValueError(f"Mã tỉnh '{province_code}' không tồn tại trong kỳ {p.code} / unknown "
                         f"province code for period {p.code} (codes of "
                         f"{'1/7/2025 onward' if p.uses_new_codes else 'before 1/7/2025'}).")
    t = parse_term(term) if term else term_for(p)
    if t is None:
        raise ValueError(f"Nhiệm kỳ không hợp lệ / invalid term '{term}': use YYYY-YYYY.")
    name = provinces[code]

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    wb = Workbook()
    info = wb.active
    info.title = "ThongTin"
    info["A1"] = f"HỘI LHPN TỈNH {name.upper()} — BÁO CÁO KỲ {p.code}"
    info["A1"].font = bold
    info.merge_cells("A1:B1")
    rows = [("Mã tỉnh", code), ("Tên tỉnh", name), ("Kỳ báo cáo", p.code), ("Nhiệm kỳ", t.code),
            ("Ngày lập", "dd/mm/yyyy"), ("Người lập", ""), ("Điện thoại / Email", "")]
    for i, (label, value) in enumerate(rows, start=3):
        info.cell(i, 1, label).font = bold
        info.cell(i, 2, value)
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 40

    def sheet(kind: str, title: str, body: list[list[object]]):
        ws = wb.create_sheet(SHEETS[kind].sheet_name)
        ws["A1"] = title
        ws["A1"].font = bold
        header = ["STT", *[c.label for c in SHEETS[kind].columns]]
        for j, h in enumerate(header, start=1):
            cell = ws.cell(3, j, h)
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            ws.column_dimensions[cell.column_letter].width = 14 if j > 3 else 10 + 12 * (j > 1)
        for i, row in enumerate(body, start=4):
            ws.cell(i, 1, i - 3)
            for j, v in enumerate(row, start=2):
                ws.cell(i, j, v)
        return ws

    sheet(TERM, f"CHỈ TIÊU NGHỊ QUYẾT NHIỆM KỲ {t.code} — lũy kế đến kỳ {p.code}",
          [[c, i.name_vi, i.unit, None, None, None] for c, i in indicators_of("term").items()])
    if p.kind == "annual":
        sheet(EMULATION, f"CHẤM ĐIỂM THI ĐUA NĂM {p.year}",
              [[c, i.name_vi, i.max_points, None, None]
               for c, i in indicators_of("emulation").items()])
    ws = sheet(POVERTY, f"KẾT QUẢ HỖ TRỢ GIẢM NGHÈO — KỲ {p.code} (mỗi dòng một huyện)", [])
    ws.cell(4, 2, "(tên huyện / thị xã / thành phố)")

    path = Path(output) if output else Path.cwd() / f"BaoCao_{code}_{p.code}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
