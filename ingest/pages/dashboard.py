"""The dashboard of the marts (contract §8): what it shows, as a template context."""

from __future__ import annotations

from collections import defaultdict

from ingest.labels import outcome
from ingest.pages import charts
from ingest.pages.data import SiteData, period_key

NO_CLUSTER = "(chưa xếp cụm / no cluster)"
PROVINCE_GROUPING = "tỉnh 2025 / province"
GROUPINGS = {  # dashboard label -> poverty_support_rollups.grouping (or the 2025 provinces)
    "vùng / region": "region",
    "cụm thi đua / cluster": "cluster",
    PROVINCE_GROUPING: PROVINCE_GROUPING,
}


def latest_scorecards(data: SiteData) -> list[dict]:
    """Each province's scorecard of its latest period (by date). A code used by two provinces
    (before and after 1 July 2025) keeps one row per name."""
    latest: dict[tuple, dict] = {}
    for row in data.scorecards:
        key = (row["province_code"], row["province_name"])
        if key not in latest or period_key(row) > period_key(latest[key]):
            latest[key] = row
    return sorted(latest.values(), key=lambda r: (r["province_code"], r["province_name"]))


def attainment_matrix(data: SiteData, scorecards: list[dict]) -> tuple[list[str], list[dict]]:
    """Indicator codes, and per latest scorecard its indicators' attainment by code."""
    wanted = {(r["province_code"], r["term"], r["period"]): r for r in scorecards}
    cells: dict[tuple, dict] = defaultdict(dict)
    codes: set[str] = set()
    for row in data.attainment:
        key = (row["province_code"], row["term"], row["period"])
        if key in wanted:
            cells[key][row["indicator_code"]] = row
            codes.add(row["indicator_code"])
    rows = [{"scorecard": s, "cells": cells[(s["province_code"], s["term"], s["period"])]}
            for s in scorecards]
    return sorted(codes), rows


def cluster_charts(data: SiteData) -> list[dict]:
    """One chart per emulation cluster, years selectable."""
    clusters: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for row in data.rankings:
        if row["cluster_code"] is None:  # a year or province the cluster seed does not cover
            continue
        names[row["cluster_code"]] = row["cluster_name"]
        clusters[row["cluster_code"]][row["year"]].append(row)
    return [{"code": code, "name": names[code],
             "chart": charts.cluster_ranking(names[code], clusters[code])}
            for code in sorted(clusters, key=lambda c: names[c])]


def unclustered_years(data: SiteData) -> list[int]:
    """Years with scores but no cluster membership in the seed (not ranked by cluster)."""
    return sorted({r["year"] for r in data.rankings if r["cluster_code"] is None})


def poverty_groups(data: SiteData) -> dict[str, dict[str, list[dict]]]:
    """Annual outcomes on the 2025 map per region, per cluster and per province, as the marts
    sum them (poverty_support_rollups, poverty_support_by_province_2025), each row with its
    completeness (units_reported / units_expected, is_complete): the pages add nothing up."""
    sources = {"region": [], "cluster": [], PROVINCE_GROUPING: data.poverty_2025}
    for row in data.poverty_rollups:
        sources[row["grouping"]].append(row)
    series: dict[str, dict[str, list[dict]]] = {}
    for label, key in GROUPINGS.items():
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in sources[key]:
            if row["period_kind"] != "annual":
                continue
            group = (row["province_name_2025"] if key == PROVINCE_GROUPING
                     else row["group_name"]) or NO_CLUSTER
            groups[group].append({**row, "group": group})
        series[label] = dict(sorted(groups.items()))
    return series


def status_grid(data: SiteData) -> tuple[list[str], list[dict]]:
    """Periods (by date) and one row per province code with its cell per period."""
    periods = data.periods
    rows: dict[str, dict] = {}
    for row in data.status:
        entry = rows.setdefault(row["province_code"], {"code": row["province_code"],
                                                       "names": [], "cells": {}})
        if row["province_name"] and row["province_name"] not in entry["names"]:
            entry["names"].append(row["province_name"])
        entry["cells"][row["period"]] = status_cell(row)
    return periods, [rows[code] for code in sorted(rows)]


def cell_state(row: dict) -> str:
    """One of on_time, late, missing (overdue, nothing loadable), not_due, rejected (only
    rejected files). Warnings are shown on top of on_time / late."""
    if row["status"] in ("missing", "not_due"):
        return row["status"]
    if row["status"] == "rejected":
        return "rejected"
    return "late" if row["on_time"] is False else "on_time"


SYMBOLS = {"on_time": "✓", "late": "trễ", "missing": "✗", "not_due": "·", "rejected": "⊘"}


def status_cell(row: dict) -> dict:
    """A submission_status row as a grid cell: state, symbol and the tooltip text."""
    state = cell_state(row)
    warnings = row["status"] == "accepted_with_warnings"
    title = [f'{row["province_name"] or row["province_code"]} {row["period"]}: '
             f'{outcome(row["status"]).both}']
    if row["latest_version"]:
        title.append(f'v{row["latest_version"]}')
    if row["on_time"] is not None:
        title.append("đúng hạn / on time" if row["on_time"] else "trễ hạn / late")
    if row["files_rejected"]:
        title.append(f'{row["files_rejected"]} tệp bị từ chối / rejected files')
    return {**row, "state": state, "warnings": warnings, "title": ", ".join(title),
            "symbol": SYMBOLS[state] + ("!" if warnings else "")}


def context(data: SiteData) -> dict:
    scorecards = latest_scorecards(data)
    indicator_codes, matrix = attainment_matrix(data, scorecards)
    poverty = poverty_groups(data)
    periods, grid = status_grid(data)
    return {
        "headline": data.headline[0] if data.headline else None,
        "scorecards": scorecards,
        "scorecard_chart": charts.scorecard_bars(scorecards) if scorecards else None,
        "indicator_codes": indicator_codes,
        "attainment_matrix": matrix,
        "clusters": cluster_charts(data),
        "unclustered_years": unclustered_years(data),
        "poverty": poverty,
        "province_grouping": PROVINCE_GROUPING,
        "poverty_periods": [key[2] for key in sorted(
            {period_key(r) for g in poverty.values() for rows in g.values() for r in rows})],
        "poverty_households_chart": charts.poverty_over_time(
            poverty, "households_out_of_poverty",
            "Hộ thoát nghèo (cả năm, bản đồ 34 tỉnh) / households out of poverty (annual, 2025 "
            "map)", "hộ / households") if data.poverty_2025 else None,
        "poverty_rate_chart": charts.poverty_over_time(
            poverty, "out_of_poverty_rate_pct",
            "Tỉ lệ thoát nghèo / out-of-poverty rate (%)", "%") if data.poverty_2025 else None,
        "poverty_2025": sorted(data.poverty_2025,
                               key=lambda r: (r["province_code_2025"], period_key(r))),
        "status_periods": periods,
        "status_grid": grid,
        # the reporting rounds of contract §9, as marts.reporting_rounds counts them
        "open_rounds": [r for r in data.rounds if r["is_open"]],
        "current_round": next((r for r in data.rounds if r["is_current"]), None),
    }
