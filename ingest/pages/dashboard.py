"""The dashboard of the marts (contract §8): what it shows, as a template context."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from ingest.pages import charts
from ingest.pages.data import SiteData, period_key

CENT = Decimal("0.01")
NO_CLUSTER = "(chưa xếp cụm / no cluster)"
PROVINCE_GROUPING = "tỉnh 2025 / province"
GROUPINGS = {  # dashboard label -> column of poverty_support_by_province_2025
    "vùng / region": "region_name",
    "cụm thi đua / cluster": "cluster_name",
    PROVINCE_GROUPING: "province_name_2025",
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
    """Annual outcomes on the 2025 map, summed per region, per cluster and per province."""
    series: dict[str, dict[str, list[dict]]] = {}
    for label, column in GROUPINGS.items():
        sums: dict[tuple, dict] = {}
        for row in data.poverty_2025:
            if row["period_kind"] != "annual":
                continue
            group = row[column] or NO_CLUSTER
            key = (group, row["period"])
            total = sums.setdefault(key, {
                "group": group, "period": row["period"],
                "period_start_date": row["period_start_date"],
                "period_end_date": row["period_end_date"], "households_out_of_poverty": None,
                "poor_households_start": None, "provinces_reported": 0,
                "provinces_expected": 0})
            for measure in ("households_out_of_poverty", "poor_households_start"):
                if row[measure] is not None:
                    total[measure] = (total[measure] or 0) + row[measure]
            total["provinces_reported"] += row["provinces_reported"]
            total["provinces_expected"] += row["provinces_expected"]
        groups: dict[str, list[dict]] = defaultdict(list)
        for total in sums.values():
            poor, out = total["poor_households_start"], total["households_out_of_poverty"]
            # rounded as PostgreSQL's round() does in the marts (half away from zero)
            total["out_of_poverty_rate_pct"] = (
                float((Decimal(out) * 100 / Decimal(poor)).quantize(CENT, ROUND_HALF_UP))
                if poor and out is not None else None)
            groups[total["group"]].append(total)
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
    if row["status"] == "missing":
        return "missing" if row["on_time"] is False else "not_due"
    if row["status"] == "rejected":
        return "rejected"
    return "late" if row["on_time"] is False else "on_time"


SYMBOLS = {"on_time": "✓", "late": "trễ", "missing": "✗", "not_due": "·", "rejected": "⊘"}


def status_cell(row: dict) -> dict:
    """A submission_status row as a grid cell: state, symbol and the tooltip text."""
    from ingest.pages.render import OUTCOME_LABELS

    state = cell_state(row)
    warnings = row["status"] == "accepted_with_warnings"
    title = [f'{row["province_name"] or row["province_code"]} {row["period"]}: '
             f'{OUTCOME_LABELS[row["status"]]}']
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
    }
