"""One page per province with a submission: `site/province/<province_code>.html`.

Receipts (contract §3) link here by relative path, so the path is fixed.
"""

from __future__ import annotations

from collections import defaultdict

from ingest.formats import number
from ingest.labels import CodeSet, label
from ingest.pages import charts
from ingest.pages.dashboard import status_cell
from ingest.pages.data import SiteData, period_key
from ingest.periods import MERGER_DATE
from ingest.reference import formed_from, merged_into

PAGE_DIR = "province"


def page_path(province_code: str) -> str:
    """Where a province's page lives, relative to site/."""
    return f"{PAGE_DIR}/{province_code}.html"


def _by_code(rows: list[dict], column: str = "province_code") -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row[column]].append(row)
    return grouped


def attainment_cell(row: dict | None) -> tuple[str, str]:
    """(status class, text) of one indicator in one report: '104,5%' or the status alone."""
    if row is None:
        return "", ""
    if row["attainment_pct"] is None:
        return row["status"], label(CodeSet.INDICATOR_STATUS, row["status"]).short_vi
    return row["status"], number(row["attainment_pct"], 1) + "%"


def merger(code: str) -> dict | None:
    """What became of province `code` on 1 July 2025: merged into another province (`into`),
    or formed from several old ones (`formed_from`); None when it stayed as it was."""
    into = merged_into(code)
    if into and into[0] != code:
        return {"date": MERGER_DATE, "into": into, "formed_from": []}
    parts = formed_from(code)
    if len(parts) > 1:
        return {"date": MERGER_DATE, "into": None, "formed_from": parts}
    return None


def headline(cards: list[dict], poverty: list[dict], ranks: list[dict]) -> dict:
    """The province's figures to quote, as the marts hold them: its latest scorecard, its
    latest annual poverty-support figures, its latest rank in its cluster."""
    annual = [r for r in poverty if r["period_kind"] == "annual"]
    ranked = [r for r in ranks if r["rank_in_cluster"] is not None]
    return {"scorecard": cards[-1] if cards else None,
            "poverty": annual[-1] if annual else None,
            "rank": ranked[0] if ranked else None}


def contexts(data: SiteData) -> dict[str, dict]:
    """Template context of every province page, by province code."""
    scorecards = _by_code(data.scorecards)
    attainment = _by_code(data.attainment)
    rankings = _by_code(data.rankings)
    poverty = _by_code(data.poverty)
    communes = _by_code(data.poverty_communes)
    status = _by_code(data.status)
    versions = _by_code(data.versions)
    findings = _by_code([f for f in data.findings if f["is_open"]])

    pages = {}
    for code in data.province_codes():
        cards = sorted(scorecards.get(code, []), key=lambda r: period_key(r))
        reports = defaultdict(list)
        for row in attainment.get(code, []):
            reports[(row["term"], row["period"])].append(row)
        report_list = [{"term": term, "period": period, "rows": rows,
                        "scorecard": next((c for c in cards if c["term"] == term
                                           and c["period"] == period), None)}
                       for (term, period), rows in sorted(
                           reports.items(), key=lambda kv: period_key(kv[1][0]), reverse=True)]
        latest = report_list[0] if report_list else None
        indicators: dict[str, dict] = {}
        for report in reversed(report_list):  # the latest report's name and unit win
            for row in report["rows"]:
                indicators[row["indicator_code"]] = row
        cells = {(r["term"], r["period"], r["indicator_code"]): r
                 for report in report_list for r in report["rows"]}
        matrix = [{"indicator": indicators[code],
                   "cells": [attainment_cell(cells.get((rep["term"], rep["period"], code)))
                             for rep in report_list]}
                  for code in sorted(indicators)]
        pov = sorted(poverty.get(code, []), key=lambda r: period_key(r))
        # the communes' figures of the latest period reported by commune (2025 on)
        commune_rows = communes.get(code, [])
        latest_commune_period = max((period_key(r) for r in commune_rows), default=None)
        commune_rows = [r for r in commune_rows if period_key(r) == latest_commune_period]
        ranks = sorted(rankings.get(code, []), key=lambda r: r["year"], reverse=True)
        files = versions.get(code, [])
        names = []
        for row in sorted(files, key=lambda r: period_key(r)):
            if row["province_name"] and row["province_name"] not in names:
                names.append(row["province_name"])
        statuses = [status_cell(r)
                    for r in sorted(status.get(code, []), key=lambda r: period_key(r),
                                    reverse=True)
                    if r["received"] or r["status"] == "missing"]
        open_findings = sorted(findings.get(code, []),
                               key=lambda f: (f["severity"] != "error", period_key(f),
                                              f["submission_id"], f["finding_id"]))
        pages[code] = {
            "code": code,
            "merger": merger(code),
            "headline": headline(cards, pov, ranks),
            "data_as_of": max((f["received_at"] for f in files), default=None),
            "names": names,
            "scorecards": list(reversed(cards)),
            "latest_report": latest,
            "latest_chart": charts.attainment_bars(
                latest["rows"], f'Chỉ tiêu nhiệm kỳ {latest["term"]}, kỳ {latest["period"]} / '
                "term indicators") if latest else None,
            "reports": report_list,
            "matrix": matrix,
            "rankings": ranks,
            "poverty": pov,
            "poverty_chart": charts.province_poverty(pov) if pov else None,
            "communes": commune_rows,
            "communes_period": commune_rows[0]["period"] if commune_rows else None,
            "status": statuses,
            "versions": files,
            "open_errors": [f for f in open_findings if f["severity"] == "error"],
            "open_warnings": [f for f in open_findings if f["severity"] == "warning"],
        }
    return pages
