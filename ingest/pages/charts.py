"""Chart specifications for plotly.js (the copy shipped in the `plotly` package, served from
site/): each function returns a figure as `{"data": [...], "layout": {...}}`, which the page
embeds as JSON and `site.js` hands to `Plotly.newPlot`. The browser draws; Python only states
what to draw, so building the site stays cheap (the tests check every spec against plotly's own
schema with `plotly.graph_objects.Figure`).
"""

from __future__ import annotations

from collections import defaultdict

from ingest.labels import CodeSet, label

# Fonts that carry Vietnamese, the system's sans-serif last (the pages' CSS uses the same list).
FONT_FAMILY = ('"Noto Sans", "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", '
               '"Liberation Sans", sans-serif')

STATUS_COLOURS = {"vuot": "#1a7f37", "dat": "#4ac26b", "chua_dat": "#cf222e",
                  "chua_bao_cao": "#8c959f"}
ROLE_COLOURS = {"truong": "#b7791f", "pho": "#6b7a90", None: "#2f6fb3"}


def _status(code: str) -> str:
    return label(CodeSet.INDICATOR_STATUS, code).both


def _role(code: str | None) -> str:
    return label(CodeSet.CLUSTER_ROLE, code).both if code else ""


def _layout(title: str, height: int, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": FONT_FAMILY, "size": 12},
        "height": height,
        "margin": {"l": 10, "r": 20, "t": 48, "b": 40},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "separators": ",.",  # 1.284,5: Vietnamese decimal comma and thousands dot
    }
    layout.update(extra)
    return layout


def scorecard_bars(latest: list[dict]) -> dict:
    """Each province's latest scorecard as one stacked bar: exceeded, met, not met, not reported
    (apart: an indicator with no result yet is not a failed one)."""
    rows = sorted(latest, key=lambda r: (r["met_pct"] or 0, r["province_code"]))
    labels = [f'{r["province_code"]} {r["province_name"]} ({r["period"]})' for r in rows]
    parts = [
        (_status("vuot"), [r["indicators_exceeded"] for r in rows], STATUS_COLOURS["vuot"]),
        (_status("dat"), [r["indicators_met_not_exceeded"] for r in rows],
         STATUS_COLOURS["dat"]),
        (_status("chua_dat"), [r["indicators_not_met"] for r in rows],
         STATUS_COLOURS["chua_dat"]),
        (_status("chua_bao_cao"), [r["indicators_not_reported"] for r in rows],
         STATUS_COLOURS["chua_bao_cao"]),
    ]
    data = [{"type": "bar", "orientation": "h", "name": name, "y": labels, "x": values,
             "marker": {"color": colour},
             "hovertemplate": "%{y}: %{x} " + name + "<extra></extra>"}
            for name, values, colour in parts]
    data.append({"type": "scatter", "mode": "text", "showlegend": False, "hoverinfo": "skip",
                 "y": labels, "x": [r["indicators_total"] for r in rows],
                 "text": [r["scorecard_label"] for r in rows], "textposition": "middle right",
                 "cliponaxis": False})
    return {"data": data, "layout": _layout(
        "Chỉ tiêu đạt / indicators met (kỳ mới nhất / latest period)",
        max(220, 20 * len(rows) + 120), barmode="stack",
        xaxis={"title": {"text": "số chỉ tiêu / indicators"}, "dtick": 1},
        yaxis={"automargin": True},
        legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom", "traceorder": "normal"},
        margin={"l": 10, "r": 40, "t": 70, "b": 40})}


def attainment_bars(rows: list[dict], title: str) -> dict:
    """One report's indicators: attainment % of the term target, coloured by status."""
    labels = [f'{r["indicator_code"]} {r["indicator_name"] or ""}'[:60] for r in rows]
    values = [r["attainment_pct"] for r in rows]
    text = [("—" if r["attainment_pct"] is None else f'{r["attainment_pct"]:g}%'.replace(".", ","))
            + f' · {label(CodeSet.INDICATOR_STATUS, r["status"]).short_vi}' for r in rows]
    data = [{"type": "bar", "orientation": "h", "y": labels, "x": values, "text": text,
             "textposition": "auto",
             "marker": {"color": [STATUS_COLOURS[r["status"]] for r in rows]},
             "hovertemplate": "%{y}<br>%{text}<extra></extra>"}]
    return {"data": data, "layout": _layout(
        title, max(200, 28 * len(rows) + 100),
        xaxis={"title": {"text": "% chỉ tiêu nhiệm kỳ / % of term target"}, "rangemode": "tozero"},
        yaxis={"automargin": True, "autorange": "reversed"},
        shapes=[{"type": "line", "xref": "x", "yref": "paper", "x0": 100, "x1": 100, "y0": 0,
                 "y1": 1, "line": {"color": "#444", "dash": "dot", "width": 1}}],
        showlegend=False)}


def rank_text(row: dict, tied: bool) -> str:
    """'#2 =' for a shared rank, with the score; the tie is visible on the bar itself."""
    score = f'{row["score"]:g}'.replace(".", ",")
    return f'#{row["rank_in_cluster"]}{" =" if tied else ""} · {score}'


def cluster_ranking(cluster_name: str, by_year: dict[int, list[dict]]) -> dict:
    """One cluster's ranking, one bar per province, with a year selector (latest shown)."""
    years = sorted(by_year)
    data = []
    for year in years:
        rows = [r for r in by_year[year] if r["score"] is not None]
        ranks = defaultdict(int)
        for r in rows:
            ranks[r["rank_in_cluster"]] += 1
        labels = [f'{r["rank_in_cluster"]}. {r["province_name"]}'
                  + {"truong": " ★", "pho": " ☆"}.get(r["cluster_role"], "") for r in rows]
        data.append({
            "type": "bar", "orientation": "h", "name": str(year), "visible": year == years[-1],
            "y": labels, "x": [r["score"] for r in rows],
            "text": [rank_text(r, ranks[r["rank_in_cluster"]] > 1) for r in rows],
            "textposition": "auto",
            "customdata": [[r["max_score"], _role(r["cluster_role"])]
                           for r in rows],
            "hovertemplate": "%{y}: %{x} / %{customdata[0]} điểm %{customdata[1]}<extra></extra>",
            "marker": {"color": [ROLE_COLOURS.get(r["cluster_role"], ROLE_COLOURS[None])
                                 for r in rows]},
        })
    longest = max((len(by_year[y]) for y in years), default=1)
    top = max((r["max_score"] or 0 for rows in by_year.values() for r in rows), default=0)
    buttons = [{"label": str(year), "method": "update",
                "args": [{"visible": [y == year for y in years]},
                         {"title.text": f"{cluster_name} — {year}"}]} for year in years]
    return {"data": data, "layout": _layout(
        f"{cluster_name} — {years[-1] if years else ''}", max(170, 30 * longest + 110),
        xaxis={"title": {"text": "điểm / points"}, "rangemode": "tozero",
               **({"range": [0, top]} if top else {})},
        yaxis={"automargin": True, "autorange": "reversed", "type": "category"},
        showlegend=False,
        updatemenus=[{"type": "dropdown", "buttons": buttons, "active": len(years) - 1,
                      "x": 1, "xanchor": "right", "y": 1.18, "yanchor": "top"}]
        if len(years) > 1 else [])}


# plotly's default colours, named so a group's partial points take its line's colour
PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
           "#b6e880", "#ff97ff", "#fecb52")


def partial_label(row: dict) -> str:
    """'1/3 tỉnh': how many of the provinces a partial sum adds up reported."""
    return f'{row["units_reported"]}/{row["units_expected"]} tỉnh'


def poverty_over_time(series: dict[str, dict[str, list[dict]]], measure: str,
                      title: str, axis: str) -> dict:
    """Lines over the annual periods, one per group; a selector switches the grouping
    (region, cluster, province of 2025). `series` maps grouping -> group -> rows with
    period, period_end_date, the measure and the marts' completeness (is_complete,
    units_reported, units_expected). A partial sum (some provinces not reported) is no point of
    the line, so it never draws a fall: it is a hollow marker of its own, labelled "1/3 tỉnh"."""
    groupings = list(series)
    data, owner = [], []
    for grouping in groupings:
        for i, (group, rows) in enumerate(series[grouping].items()):
            rows = sorted(rows, key=lambda r: r["period_end_date"])
            colour = PALETTE[i % len(PALETTE)]
            data.append({
                "type": "scatter", "mode": "lines+markers", "name": group,
                "visible": grouping == groupings[0], "legendgroup": f"{grouping}|{group}",
                "x": [r["period"] for r in rows],
                "y": [r[measure] if r["is_complete"] else None for r in rows],
                "connectgaps": False, "line": {"color": colour}, "marker": {"color": colour},
                "hovertemplate": f"{group} %{{x}}: %{{y}}<extra></extra>"})
            owner.append(grouping)
            partial = [r for r in rows if not r["is_complete"]]
            if partial:
                data.append({
                    "type": "scatter", "mode": "markers+text",
                    "name": f"{group} (chưa đủ / partial)", "showlegend": False,
                    "visible": grouping == groupings[0], "legendgroup": f"{grouping}|{group}",
                    "x": [r["period"] for r in partial], "y": [r[measure] for r in partial],
                    "text": [partial_label(r) for r in partial], "textposition": "top center",
                    "textfont": {"size": 10, "color": colour},
                    "marker": {"symbol": "circle-open", "size": 10, "color": colour,
                               "line": {"width": 2}},
                    "hovertemplate": f"{group} %{{x}}: %{{y}} — chưa đủ, %{{text}} đã báo cáo / "
                                     "partial, %{text} reported<extra></extra>"})
                owner.append(grouping)
    buttons = [{"label": grouping, "method": "update",
                "args": [{"visible": [o == grouping for o in owner]}]} for grouping in groupings]
    # periods on a category axis in date order (a period is a span, not a day)
    periods = sorted({(r["period_end_date"], r["period"]) for groups in series.values()
                      for rows in groups.values() for r in rows})
    layout = _layout(
        title, 460, xaxis={"type": "category", "title": {"text": "kỳ báo cáo / period"},
                           "categoryorder": "array", "categoryarray": [p for _, p in periods]},
        yaxis={"title": {"text": axis}, "rangemode": "tozero", "automargin": True},
        legend={"font": {"size": 11}},
        updatemenus=[{"type": "buttons", "direction": "right", "buttons": buttons, "active": 0,
                      "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"}]
        if len(groupings) > 1 else [])
    layout["margin"]["t"] = 90
    return {"data": data, "layout": layout}


def province_poverty(rows: list[dict]) -> dict | None:
    """One province over the years: households out of poverty (bars), rate (line, right axis).
    Annual reports only: a half-year is not a year's equal (the table lists every period)."""
    rows = [r for r in rows if r["period_kind"] == "annual"]
    if not rows:
        return None
    x = [r["period"] for r in rows]
    data = [
        {"type": "bar", "name": "hộ thoát nghèo / households out of poverty", "x": x,
         "y": [r["households_out_of_poverty"] for r in rows], "marker": {"color": "#2f6fb3"},
         "hovertemplate": "%{x}: %{y:,d} hộ<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "tỉ lệ thoát nghèo / rate %",
         "x": x, "y": [r["out_of_poverty_rate_pct"] for r in rows], "yaxis": "y2",
         "marker": {"color": "#b7791f"}, "hovertemplate": "%{x}: %{y:.1f}%<extra></extra>"},
    ]
    return {"data": data, "layout": _layout(
        "Giảm nghèo theo năm (báo cáo cả năm) / poverty support by year (annual reports)", 360,
        xaxis={"type": "category", "title": {"text": "năm / year"}},
        yaxis={"title": {"text": "hộ / households"}, "rangemode": "tozero", "automargin": True,
               "tickformat": ",d"},
        # its own round ticks, not ticks synchronised with the left axis (21,49 / 17,91)
        yaxis2={"title": {"text": "%"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "automargin": True, "tickmode": "auto",
                "showgrid": False, "ticksuffix": "%"},
        legend={"orientation": "h", "y": -0.25})}
