"""Reference data read from the dbt seeds (one source of truth: copies of the contract CSVs)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from ingest.periods import MERGER_DATE, Period
from ingest.settings import seeds_dir


def _rows(name: str) -> list[dict[str, str]]:
    with open(seeds_dir() / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class Indicator:
    kind: str  # term | emulation | poverty
    code: str
    name_vi: str
    name_en: str
    unit: str
    value_type: str  # count | percent | points | money_vnd
    direction: str  # higher | lower | ''
    max_points: float | None


@lru_cache
def indicators() -> dict[str, Indicator]:
    return {
        r["code"]: Indicator(
            r["kind"], r["code"], r["name_vi"], r["name_en"], r["unit"], r["value_type"],
            r["direction"], float(r["max_points"]) if r["max_points"] else None,
        )
        for r in _rows("indicators.csv")
    }


def indicators_of(kind: str) -> dict[str, Indicator]:
    return {code: i for code, i in indicators().items() if i.kind == kind}


@lru_cache
def provinces_old() -> dict[str, str]:
    """The 63 codes in force until 30 June 2025 -> name."""
    return {r["province_code"]: r["province_name"] for r in _rows("provinces_2024.csv")}


@lru_cache
def provinces_new() -> dict[str, str]:
    """The 34 codes in force from 1 July 2025 -> name."""
    return {r["new_code"]: r["new_name"] for r in _rows("province_merger_2025.csv")}


def provinces_for(period: Period | None) -> dict[str, str]:
    """Valid province codes for a period (contract §1), or the old ones when unknown."""
    return provinces_new() if period is not None and period.uses_new_codes else provinces_old()


def province_name(code: str, period: Period | None = None) -> str | None:
    return provinces_for(period).get(code) or provinces_old().get(code) or provinces_new().get(code)


@lru_cache
def successors() -> dict[str, tuple[str, str]]:
    """Old code -> (new code, new name) of the province it became part of on 1 July 2025."""
    rows = _rows("province_merger_2025.csv")
    return {r["old_code"]: (r["new_code"], r["new_name"]) for r in rows}


def ended_code_note(code: str, period: Period | None) -> tuple[str, str] | None:
    """For a province code that no longer exists in `period` (it ended on 1 July 2025), what a
    clerk is told it became, in Vietnamese and English; None for any other code."""
    if period is None or not period.uses_new_codes or code in provinces_new():
        return None
    if code not in successors():
        return None
    new_code, new_name = successors()[code]
    old_name = provinces_old()[code]
    since = MERGER_DATE.strftime("%d/%m/%Y")
    return (f"Từ {since}, tỉnh {code} {old_name} là một phần của tỉnh {new_code} {new_name}: "
            f"hãy dùng mã {new_code}.",
            f"Since {MERGER_DATE:%-d %B %Y}, province {code} {old_name} is part of province "
            f"{new_code} {new_name}: use code {new_code}.")
