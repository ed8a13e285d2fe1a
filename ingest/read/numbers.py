"""Numbers as Vietnamese offices write them (contract §2).

`1.284` is 1284, `11,54` is 11.54, `71%` is a percent, `3.562/5.000` is 3562 of 5000.
Real numeric cells pass through. Empty (or a dash) is not reported: None, never zero.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime

_EMPTY = {"", "-", "–", "—", "x", "X", "n/a", "N/A"}
_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3}){2,}$")
_PLAIN_NUMBER = re.compile(r"\d+(\.\d+)?")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Number:
    value: float | None
    percent: bool = False  # written with a % sign
    denominator: float | None = None  # written as a/b: value is a, denominator b
    numeric_cell: bool = False  # a real number in the sheet, not text
    error: str | None = None  # why the text is not a number


NOT_REPORTED = Number(None)


def _plain(text: str) -> float | None:
    """One unsigned number in Vietnamese or plain notation, or None."""
    if "." in text and "," in text:
        # the separator written last is the decimal one: 1.284,5 (vi) or 1,284.5 (en)
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif _THOUSANDS_DOT.match(text):
        text = text.replace(".", "")
    elif _THOUSANDS_COMMA.match(text):
        text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    return float(text)


def _signed(text: str) -> float | None:
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    body = text.strip("()").lstrip("-+").strip()
    value = _plain(body)
    if value is None:
        return None
    return -value if negative else value


# the figures most reports write: '1.284', '1.284.000', '11,54', '1.284,5' (ASCII digits, no
# sign, space or unit); the integer part's dots group thousands, the comma is the decimal one
_COMMON = re.compile(r"([0-9]{1,3}(?:\.[0-9]{3})*)(?:,([0-9]+))?")


def common_figure(text: str) -> float | None:
    """The value of a figure written the common way (`_COMMON`), with no `Number` made: what
    `parse_number` gives it, for a fraction of the work; None for any other text."""
    m = _COMMON.fullmatch(text)
    if m is None:
        return None
    whole, decimals = m.groups()
    whole = whole.replace(".", "")
    return float(f"{whole}.{decimals}" if decimals else whole)


def parse_number(cell: object) -> Number:
    """Parse one cell. Never raises: a bad value comes back with `error` set."""
    if cell.__class__ is str:  # most texts are figures written the common way: '1.284', '71%'
        percent = cell.endswith("%")
        value = common_figure(cell[:-1] if percent else cell)
        return _parse_text(cell) if value is None else Number(value, percent=percent)
    if cell is None:
        return NOT_REPORTED
    if isinstance(cell, bool):
        return Number(None, error="not a number")
    if isinstance(cell, int | float):
        if not math.isfinite(cell):  # NaN or ±Infinity stored as a number: not a figure
            return Number(None, error="not a finite number")
        return Number(float(cell), numeric_cell=True)
    if isinstance(cell, date | datetime):
        return Number(None, error="a date, not a number")
    return _parse_text(str(cell))


def _parse_text(text: str) -> Number:
    """A text cell read in full: spaces, signs, brackets, fractions, either notation."""
    text = _SPACES.sub("", text.replace("\u00a0", " ").strip())
    if text in _EMPTY:
        return NOT_REPORTED
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if "/" in text:
        left, _, right = text.partition("/")
        a, b = _signed(left), _signed(right)
        if a is None or b is None:
            return Number(None, error="not a fraction a/b")
        if b == 0:
            return Number(None, error="fraction with a zero denominator")
        return Number(a, percent=percent, denominator=b)
    value = _signed(text)
    if value is None:
        return Number(None, error="not a number")
    return Number(value, percent=percent)


def vn_number(value: float | int | None, decimals: int = 2) -> str:
    """1284 -> '1.284', 11.54 -> '11,54' (the Vietnamese way)."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    whole, frac = f"{value:,.{decimals}f}".split(".")
    return f"{whole.replace(',', '.')},{frac.rstrip('0') or '0'}"
