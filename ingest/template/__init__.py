"""`lhpn template`: the data-entry form a province fills in, prints, signs and sends back.

A workbook with a HuongDan sheet, ThongTin and the data sheets of the period, pre-filled with
what the warehouse knows (province and period, the term's targets, the units of GiamNgheo; see
`history`), printable (`form`), and checked as it is typed (`validation`). ChiTieu lists the
indicators of the province's resolution where its history knows them, with spare rows to add
one; else the whole catalogue, whose rows the province does not have stay blank and are skipped
by the reader (contract §2). The reader accepts it
back as soon as the shaded cells are filled in.
"""

from __future__ import annotations

import io
from pathlib import Path

from ingest.model import EMULATION, POVERTY, TERM
from ingest.periods import Period, Term, parse_period, parse_term, term_for
from ingest.read.layout import SHEETS
from ingest.reference import ended_code_note, indicators_of, provinces_for

GUIDE_SHEET = "HuongDan"


def unit_words(period: Period) -> str:
    """What a GiamNgheo row is: a district before 1 July 2025, a commune or ward after (§2)."""
    return "xã / phường / đặc khu" if period.uses_new_codes else "huyện / thị xã / thành phố"


def file_name(province_code: str, period: Period) -> str:
    return f"BaoCao_{province_code}_{period.code}.xlsx"


def _period_and_term(period: str, term: str | None) -> tuple[Period, Term]:
    p = parse_period(period)
    if p is None:
        raise ValueError(f"Kỳ báo cáo không hợp lệ / invalid period '{period}': use YYYY, "
                         "YYYY-6T, GK-YYYY or TK-YYYY.")
    t = parse_term(term) if term else term_for(p)
    if t is None:
        raise ValueError(f"Nhiệm kỳ không hợp lệ / invalid term '{term}': use YYYY-YYYY.")
    return p, t


def write_template(province_code: str, period: str, *, term: str | None = None,
                   output: str | Path | None = None, prefill: bool = True) -> Path:
    """Write the template of one province; `prefill` reads its history from the warehouse."""
    from ingest.template.history import History, load_history

    p, t = _period_and_term(period, term)
    code = province_code.strip().zfill(2)
    if code not in provinces_for(p):
        vi, en = ended_code_note(code, p) or ("", "")
        raise ValueError(f"Mã tỉnh '{province_code}' không tồn tại trong kỳ {p.code}. {vi} / "
                         f"unknown province code for period {p.code} (codes of "
                         f"{'1/7/2025 onward' if p.uses_new_codes else 'before 1/7/2025'}). "
                         f"{en}".replace(".  /", ". /").rstrip())
    history = load_history([code], p, t)[code] if prefill else History()
    path = Path(output) if output else Path.cwd() / file_name(code, p)
    return _write(code, p, t, history, path)


def write_all(period: str, *, term: str | None = None, outbox: str | Path | None = None,
              prefill: bool = True) -> list[Path]:
    """One template per province existing in `period`, into `<outbox>/<province_code>/`
    (default: the data home's outbox, where each office already finds its receipts)."""
    from ingest.settings import home
    from ingest.template.history import History, load_history

    p, t = _period_and_term(period, term)
    codes = sorted(provinces_for(p))
    root = Path(outbox) if outbox else home().outbox
    histories = load_history(codes, p, t) if prefill else {}
    return [_write(code, p, t, histories.get(code, History()),
                   root / code / file_name(code, p)) for code in codes]


def write_beside(period: str, codes: list[str], outbox: str | Path | None = None) -> list[Path]:
    """The pre-filled templates of `codes` for `period` in `<outbox>/<code>/`, written only where
    none is there yet (the reminders of contract §9 put one beside each notice)."""
    from ingest.settings import home
    from ingest.template.history import History, load_history

    p, t = _period_and_term(period, None)
    root = Path(outbox) if outbox else home().outbox
    paths = {code: root / code / file_name(code, p) for code in codes
             if code in provinces_for(p)}
    todo = [code for code, path in paths.items() if not path.exists()]
    histories = load_history(todo, p, t) if todo else {}
    for code in todo:
        paths[code].parent.mkdir(parents=True, exist_ok=True)
        _write(code, p, t, histories.get(code, History()), paths[code])
    return list(paths.values())


def _write(code: str, p: Period, t: Term, history, path: Path) -> Path:
    from openpyxl import Workbook

    from ingest.template import form, guide
    from ingest.template import validation as checks

    name = provinces_for(p)[code]
    heading = f"HỘI LHPN {name.upper()} — BÁO CÁO KỲ {p.code}"
    wb = Workbook()

    labels = guide.info_labels()
    date_label, person_label, contact_label = (labels[f] for f in
                                               ("report_date", "prepared_by", "contact"))
    form.info_sheet(
        wb, heading,
        [(labels["province_code"], code), (labels["province_name"], name),
         (labels["period"], p.code), (labels["term"], t.code), (date_label, None),
         (person_label, None), (contact_label, None)],
        inputs={date_label: checks.report_date(date_label, p.start),
                person_label: checks.info_text(person_label),
                contact_label: checks.info_text(contact_label)},
        formats={date_label: "dd/mm/yyyy"},
    )
    _term_sheet(wb, name, p, t, history)
    if p.kind == "annual":
        _emulation_sheet(wb, name, p)
    _poverty_sheet(wb, name, p, history)
    form.guide_sheet(wb, GUIDE_SHEET, f"HƯỚNG DẪN ĐIỀN BÁO CÁO — HỘI LHPN {name.upper()} — "
                     f"KỲ {p.code}", guide.paragraphs(code, p, t, history, unit_words(p)))
    wb.active = wb.sheetnames.index(GUIDE_SHEET)

    from ingest.receive.archive import write_bytes_atomic

    data = io.BytesIO()
    wb.save(data)
    # a half-written template is never handed out, nor written through a link in the outbox
    return write_bytes_atomic(path, data.getvalue())


SPARE_INDICATOR_ROWS = 4  # rows a province adds an indicator of its resolution in


def term_codes(history) -> list[str]:
    """The indicators the ChiTieu sheet lists: those of the province's resolution where its
    history knows them (a report of the same term under the same codes), in catalogue order;
    the whole catalogue otherwise (the office leaves the rows it does not have blank)."""
    catalogue = indicators_of("term")
    own = [code for code in catalogue if code in history.targets]
    return own or list(catalogue)


def _term_sheet(wb, name: str, p: Period, t: Term, history) -> None:
    from ingest.template import form
    from ingest.template import validation as checks

    lay = SHEETS[TERM]
    catalogue = indicators_of("term")
    codes = term_codes(history)
    spare = SPARE_INDICATOR_ROWS if len(codes) < len(catalogue) else 0
    rows, formats = [], {}
    for i, code in enumerate(codes):
        indicator = catalogue[code]
        target = history.targets.get(code)
        if target is not None and indicator.value_type == "percent" and 0 < target <= 100:
            # as a clerk types it: 85% is the cell 0,85, read back as 85 (contract §7)
            formats[(i, "target_value")] = "0%" if target.is_integer() else "0.##%"
            target /= 100
        elif indicator.value_type == "count":
            formats[(i, "target_value")] = form.WHOLE_FORMAT
        rows.append({"indicator_code": code, "indicator_text": indicator.name_vi,
                     "unit_text": indicator.unit, "target_value": target})
    rows += [{}] * spare
    if history.targets_period:
        source = (f"Các chỉ tiêu của nghị quyết tỉnh, chỉ tiêu điền sẵn theo báo cáo kỳ "
                  f"{history.targets_period}; sửa nếu nghị quyết thay đổi, thêm chỉ tiêu ở "
                  "dòng trống cuối bảng.")
    else:
        source = ("Danh mục chỉ tiêu: điền Chỉ tiêu nhiệm kỳ và Kết quả lũy kế cho các chỉ tiêu "
                  "của nghị quyết tỉnh; để trống hẳn các dòng khác.")
    table = form.data_sheet(
        wb, TERM, f"HỘI LHPN {name.upper()} — CHỈ TIÊU NGHỊ QUYẾT NHIỆM KỲ {t.code} — LŨY KẾ "
        f"ĐẾN KỲ {p.code}", source, rows, {"target_value", "actual_value", "note"},
        number_formats=formats,
        input_cells={(len(codes) + k, "indicator_code") for k in range(spare)})
    code_column = lay.column("indicator_code")
    letter = table.letters["indicator_code"]
    listed = f"{letter}{table.first_row}:{letter}{table.first_row + len(codes) - 1}"
    checks.add(table.ws, checks.codes(code_column, list(catalogue)), listed)
    if spare:
        checks.add(table.ws, checks.added_code(code_column, list(catalogue)),
                   f"{letter}{table.first_row + len(codes)}:{letter}{table.last_row}")
    kinds = [catalogue[c].value_type == "count" for c in codes] + [False] * spare
    for whole in (True, False):
        rows_of_kind = [table.first_row + i for i, is_count in enumerate(kinds)
                        if is_count == whole]
        for column in ("target_value", "actual_value"):
            letter = table.letters[column]
            for r in rows_of_kind:  # one range per row: the custom formulas are relative to it
                ref = f"{letter}{r}"
                check = (checks.term_target(lay.column(column), whole) if column == "target_value"
                         else checks.term_result(lay.column(column), ref, whole))
                checks.add(table.ws, check, ref)
    checks.add(table.ws, checks.text(lay.column("note")), table.span("note"))


def _emulation_sheet(wb, name: str, p: Period) -> None:
    from ingest.template import form
    from ingest.template import validation as checks

    lay = SHEETS[EMULATION]
    catalogue = indicators_of("emulation")
    rows = [{"criterion_code": code, "criterion_text": c.name_vi, "max_points": c.max_points}
            for code, c in catalogue.items()]
    upper = dict(checks.bounds(EMULATION))  # score column -> its maximum's column
    inputs = set(upper)
    table = form.data_sheet(
        wb, EMULATION, f"HỘI LHPN {name.upper()} — CHẤM ĐIỂM THI ĐUA NĂM {p.year}",
        "Điểm chuẩn theo thang điểm chung của các cụm thi đua; không sửa.", rows, inputs)
    checks.add(table.ws, checks.codes(lay.column("criterion_code"), list(catalogue)),
               table.span("criterion_code"))
    for column, maximum in upper.items():
        checks.add(table.ws, checks.score(lay.column(column), lay.column(maximum),
                                          table.ref(maximum, absolute_column=True)),
                   table.span(column))


def _poverty_sheet(wb, name: str, p: Period, history) -> None:
    from ingest.template import form
    from ingest.template import validation as checks

    lay = SHEETS[POVERTY]
    words = unit_words(p)
    blank_rows = 5 if history.units else 30
    rows = [{"district_name": unit} for unit in history.units] + [{}] * blank_rows
    source = (f"Đơn vị điền sẵn theo báo cáo kỳ {history.units_period}; sửa, thêm hoặc bỏ "
              "dòng nếu cần. " if history.units_period else "")
    table = form.data_sheet(
        wb, POVERTY, f"HỘI LHPN {name.upper()} — KẾT QUẢ HỖ TRỢ GIẢM NGHÈO KỲ {p.code} (mỗi "
        f"dòng một {words})", f"{source}Tiền: triệu đồng. Ô trống là không báo cáo.", rows,
        {c.name for c in lay.columns}, header_hints={lay.key_column: f"({words})"})
    pairs = checks.bounds(POVERTY)
    refs = {c.name: table.ref(c.name) for c in lay.columns}
    bounded = {name for pair in pairs for name in pair}
    for column in lay.columns:
        if column.name == lay.key_column:
            key = table.letters[column.name]
            check = checks.unit_name(column, refs[column.name],
                                     f"${key}${table.first_row}:${key}${table.last_row}", words)
        elif column.kind == "count" and column.name in bounded:
            check = checks.bounded_count(column, refs[column.name], refs, pairs)
        elif column.kind == "count":
            check = checks.count(column)
        elif column.kind == "money":
            check = checks.money(column)
        else:
            check = checks.number(column)
        checks.add(table.ws, check, table.span(column.name))
