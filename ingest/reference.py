"""Reference data read from the dbt seeds (one source of truth: copies of the contract CSVs)."""

from __future__ import annotations

import csv
import re
import unicodedata
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


@lru_cache
def merged_into(old_code: str) -> tuple[str, str] | None:
    """(code, name) of the province an old code became on 1 July 2025, None for no old code."""
    row = next((r for r in _rows("province_merger_2025.csv") if r["old_code"] == old_code), None)
    return (row["new_code"], row["new_name"]) if row else None


def provinces_for(period: Period | None) -> dict[str, str]:
    """Valid province codes for a period (contract §1), or the old ones when unknown."""
    return provinces_new() if period is not None and period.uses_new_codes else provinces_old()


def province_name(code: str, period: Period | None = None) -> str | None:
    return provinces_for(period).get(code) or provinces_old().get(code) or provinces_new().get(code)


def formed_from(new_code: str) -> list[tuple[str, str]]:
    """(code, name) of the old provinces a province of 1 July 2025 was formed from."""
    return sorted((r["old_code"], r["old_name"]) for r in _rows("province_merger_2025.csv")
                  if r["new_code"] == new_code)


def ended_code_note(code: str, period: Period | None) -> tuple[str, str] | None:
    """For a province code that no longer exists in `period` (it ended on 1 July 2025), what a
    clerk is told it became, in Vietnamese and English; None for any other code."""
    if period is None or not period.uses_new_codes or code in provinces_new():
        return None
    became = merged_into(code)
    if became is None:
        return None
    new_code, new_name = became
    old_name = provinces_old()[code]
    since = MERGER_DATE.strftime("%d/%m/%Y")
    return (f"Từ {since}, tỉnh {code} {old_name} là một phần của tỉnh {new_code} {new_name}: "
            f"hãy dùng mã {new_code}.",
            f"Since {MERGER_DATE:%-d %B %Y}, province {code} {old_name} is part of province "
            f"{new_code} {new_name}: use code {new_code}.")


# ---------------------------------------------------------------- communes (from 1 July 2025)

_NOT_LETTER = re.compile(r"[\W_]+")
# The type word a clerk writes before a commune's name: Xã, Phường, Đặc khu, or P. / X.
_TYPE_PREFIX = re.compile(
    r"^\s*(?:(?P<xa>xa)|(?P<phuong>phuong)|(?P<dac_khu>dac\s*khu))(?:\s+|\.|$)"
    r"|^\s*(?:(?P<p>p)|(?P<x>x))\s*\.\s*")


@dataclass(frozen=True)
class Commune:
    code: str  # five-digit code of Cục Thống kê (letter 1027/CTK-CSCL)
    name: str  # official name with its type word: "Xã Vĩnh Hảo"
    province_code: str  # the province of the 2025 map
    unit_type: str  # xa | phuong | dac_khu


def commune_key(text: object) -> tuple[str | None, str, str]:
    """(type written or None, the name folded, the name with its diacritics) without the type
    word: "P. Xuân Hương - Đà Lạt" -> ("phuong", "xuanhuongdalat", "xuânhươngđàlạt").
    Matching ignores case, diacritics, spacing and the type word; the third key tells apart the
    names that differ only by their diacritics (Xã Sơn Hà, Xã Sơn Hạ)."""
    from ingest.read.layout import fold, strip_diacritics

    written = unicodedata.normalize("NFC", str(text or "")).lower()
    plain = strip_diacritics(written)  # one letter for one letter: positions stay the same
    m = _TYPE_PREFIX.match(plain)
    unit_type, start = None, 0
    if m:
        kind = next(k for k, v in m.groupdict().items() if v)
        unit_type, start = {"p": "phuong", "x": "xa"}.get(kind, kind), m.end()
    return unit_type, fold(plain[start:]), _NOT_LETTER.sub("", written[start:])


@lru_cache
def communes() -> dict[str, Commune]:
    """The 3,321 commune-level units of 1 July 2025 (seed communes_2025.csv), by code."""
    return {r["commune_code"]: Commune(r["commune_code"], r["commune_name"],
                                       r["province_code_2025"], r["unit_type"])
            for r in _rows("communes_2025.csv")}


@lru_cache
def _communes_by_key() -> dict[str, list[Commune]]:
    index: dict[str, list[Commune]] = {}
    for commune in communes().values():
        index.setdefault(commune_key(commune.name)[1], []).append(commune)
    return index


@lru_cache
def _communes_by_province() -> dict[str, dict[str, list[Commune]]]:
    """`communes_of` of every province, made in one pass (names in `_communes_by_key` order)."""
    index: dict[str, dict[str, list[Commune]]] = {}
    for key, found in _communes_by_key().items():
        for commune in found:
            index.setdefault(commune.province_code, {}).setdefault(key, []).append(commune)
    return index


def communes_of(province_code: str) -> dict[str, list[Commune]]:
    """A 2025 province's communes by their folded name (a name may be a xã and a phường)."""
    return _communes_by_province().get(province_code, {})


@dataclass(frozen=True)
class CommuneMatch:
    """What a GiamNgheo unit of a 2025+ report is: `ok` (`commune` set), `unknown` (the closest
    communes of the province in `candidates`), `ambiguous` (the communes of the province that
    name can mean, in `candidates`) or `other_province` (the communes of that name elsewhere in
    `elsewhere`, the closest of the province's own in `candidates`)."""

    status: str
    commune: Commune | None = None
    candidates: tuple[Commune, ...] = ()
    elsewhere: tuple[Commune, ...] = ()


@lru_cache(maxsize=65536)
def match_commune(province_code: str, text: str) -> CommuneMatch:
    """The commune of the province that `text` names (contract §2)."""
    import difflib

    unit_type, key, exact = commune_key(text)
    own = communes_of(province_code)
    found = own.get(key, [])
    if unit_type and len(found) > 1:
        found = [c for c in found if c.unit_type == unit_type] or found
    if len(found) > 1:
        found = [c for c in found if commune_key(c.name)[2] == exact] or found
    if len(found) == 1:
        return CommuneMatch("ok", found[0])
    if found:
        return CommuneMatch("ambiguous", None, tuple(found))
    elsewhere = [c for c in _communes_by_key().get(key, []) if not unit_type
                 or c.unit_type == unit_type] or _communes_by_key().get(key, [])
    close = tuple(c for k in difflib.get_close_matches(key, list(own), n=3, cutoff=0.6)
                  for c in own[k])
    if elsewhere:
        return CommuneMatch("other_province", None, close, tuple(elsewhere))
    return CommuneMatch("unknown", None, close)


# ---------------------------------------------------------------- term labels

@lru_cache
def term_aliases() -> dict[str, str]:
    """Term labels that name another term (seed term_labels.csv): 2021-2025 -> 2021-2026."""
    return {r["label"]: r["term"] for r in _rows("term_labels.csv")}


def canonical_term(code: str | None) -> str | None:
    """The one label a term is stored under (dbt staging applies the same seed)."""
    return term_aliases().get(code, code) if code else code


def same_term_labels(code: str) -> list[str]:
    """Every label that names the term `code` (itself included)."""
    term = canonical_term(code)
    return sorted({term, *(label for label, t in term_aliases().items() if t == term)})
