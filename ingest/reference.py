"""Reference data read from the dbt seeds (one source of truth: copies of the contract CSVs)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from ingest.periods import Period
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
