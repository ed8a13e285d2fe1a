"""Placing a finding where the clerk sees it: (sheet, Excel row, column header, value).

Every check of the validation (a GX expectation, a rule of the table) names the place of what it
found as (file, sheet kind, Excel row, canonical column). The sheet name, the header and the
value are then read from what the reader kept of the workbook (`SheetData.text`,
`ReportInfo.raw`/`labels`), never from a derived frame: the value quoted is always the cell at
that row and column, as written. `finding` is the one way a validation check makes a `Finding`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ingest.model import INFO_SHEET, Finding, ParsedFile, Severity
from ingest.read import layout
from ingest.read.numbers import vn_number

# canonical ThongTin field -> the contract's label (used when the workbook has no such row)
INFO_LABEL = {field: label for label, (field, _) in reversed(layout.INFO_LABELS.items())}


def missing(value: object) -> bool:
    """None or NaN: an empty cell."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def number_text(value: float | None) -> str:
    """A number for a report, written the Vietnamese way: 1.284 ; 11,54."""
    return "" if missing(value) else vn_number(value)


def header_text(header: str | None) -> str | None:
    """A header as written, on one line: offices break long headers inside the cell."""
    return " ".join(header.split()) if header else header


def fill(template: str, fields: dict) -> str:
    """A message template with its fields; a template naming an absent field stays as it is."""
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return template


def severity(level: object) -> Severity:
    """The one severity map of the checks: GX's `critical` (the rule table's `error`) rejects
    the file, `warning` and `info` load it flagged."""
    value = str(getattr(level, "value", level))
    return "warning" if value in ("warning", "info") else "error"


@dataclass(frozen=True)
class Place:
    sheet: str | None = None
    excel_row: int | None = None
    column: str | None = None  # the header (or ThongTin label) as written
    value: str | None = None  # the cell as written; None when no cell is named


def at_cell(parsed: ParsedFile, kind: str, excel_row: object, column: str | None) -> Place:
    """The cell of data sheet `kind` at `excel_row` (Excel's numbering) and canonical `column`.

    Without a row, the place is the column (or, without a column, the sheet) and no value."""
    if kind == INFO_SHEET:
        return at_info(parsed, column)
    sheet = parsed.sheets[kind]
    header = header_text(sheet.headers.get(column)) if column else None
    if missing(excel_row):
        return Place(sheet.sheet_name, None, header, None)
    row = int(excel_row)
    value = sheet.text.get(row, {}).get(column) if column else None
    return Place(sheet.sheet_name, row, header, None if value is None else str(value))


def at_info(parsed: ParsedFile, field: str | None) -> Place:
    """The value cell of ThongTin field `field` (its row's label is the 'column')."""
    info = parsed.info
    if not info.rows:
        return Place(None, None, INFO_LABEL.get(field), None)  # no ThongTin sheet at all
    if field is None or field not in info.rows:
        return Place(info.sheet_name, None, INFO_LABEL.get(field), None)
    label = header_text(info.labels.get(field)) or INFO_LABEL.get(field)
    return Place(info.sheet_name, info.rows[field], label, info.raw.get(field))


@dataclass(frozen=True)
class Texts:
    """What a check says, as templates over the fields of the row that broke it."""

    message_vi: str
    message_en: str
    expected_vi: str
    expected_en: str


def finding(rule: str, severity: Severity, texts: Texts, fields: dict, place: Place) -> Finding:
    """The finding of a check at `place`. `{value}` in the templates is the cell as written
    unless the check gives its own (e.g. the sum an outlier was computed on)."""
    fields = {k: ("" if missing(v) else v) for k, v in fields.items()}
    fields.setdefault("value", place.value or "")
    return Finding(
        rule=rule, severity=severity,
        message_vi=fill(texts.message_vi, fields), message_en=fill(texts.message_en, fields),
        sheet=place.sheet, excel_row=place.excel_row, column=place.column, value=place.value,
        expected_vi=fill(texts.expected_vi, fields) or None,
        expected_en=fill(texts.expected_en, fields) or None,
    )
