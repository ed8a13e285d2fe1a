"""Report periods and terms (contract §1 and §7)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ingest.settings import project_vars

# 1 July 2025, the 63 provinces became 34: the dbt var province_merger_date
MERGER_DATE = date.fromisoformat(project_vars()["province_merger_date"])

_PERIOD = re.compile(r"^(?:(?P<year>\d{4})(?P<half>-6T)?|(?P<review>GK|TK)-(?P<ryear>\d{4}))$")
_TERM = re.compile(r"^(\d{4})-(\d{4})$")


@dataclass(frozen=True)
class Period:
    code: str  # canonical text: 2024, 2025-6T, GK-2023, TK-2026
    kind: str  # annual | half_year | mid_term | end_of_term
    year: int

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        """Last day; mid- and end-of-term reviews are dated 31 December (contract §7)."""
        return date(self.year, 6, 30) if self.kind == "half_year" else date(self.year, 12, 31)

    @property
    def uses_new_codes(self) -> bool:
        """Periods ending on or after 1 July 2025 use the 34 new province codes."""
        return self.end >= MERGER_DATE


def _clean(text: object) -> str:
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    return re.sub(r"\s+", "", str(text or "")).upper()


def parse_period(text: object) -> Period | None:
    m = _PERIOD.match(_clean(text))
    if not m:
        return None
    if m["review"]:
        kind = "mid_term" if m["review"] == "GK" else "end_of_term"
        year = int(m["ryear"])
        return Period(f"{m['review']}-{year}", kind, year)
    year = int(m["year"])
    if m["half"]:
        return Period(f"{year}-6T", "half_year", year)
    return Period(str(year), "annual", year)


@dataclass(frozen=True)
class Term:
    code: str
    start_year: int
    end_year: int


def parse_term(text: object) -> Term | None:
    m = _TERM.match(_clean(text))
    if not m:
        return None
    start, end = int(m[1]), int(m[2])
    if not start < end <= start + 10:
        return None
    return Term(f"{start}-{end}", start, end)


REFORM_TERM_START = 2025  # the congresses of November-December 2025 opened the term 2025-2030


def term_for(period: Period) -> Term:
    """The five-year provincial congress term holding a period (contract §1): …, 2016-2021,
    2021-2026 up to 2025-6T; the reform closed that term early, and every report of the 2025 map
    (from the 2025 annual report on) belongs to 2025-2030, then 2030-2035, …"""
    if period.uses_new_codes:
        start = REFORM_TERM_START + 5 * ((period.year - REFORM_TERM_START) // 5)
    else:
        start = 2021 + 5 * ((period.year - 2021) // 5)
    return Term(f"{start}-{start + 5}", start, start + 5)
