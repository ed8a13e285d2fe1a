"""Validation docs: static HTML of the latest validation results, written into the data home.

The equivalent of GX Data Docs for this warehouse. GX runs in an ephemeral context once per run
(nothing on disk), and what a reader wants is per submission, in the clerk's terms (sheet, Excel
row, column header), which is what `audit.validation_results` holds. So the page is built from
the audit tables: `<home>/reports/docs/index.html`, never committed (the data home is ignored).
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ingest import settings

LATEST_SUBMISSIONS = 500

_SUBMISSIONS_SQL = """
select s.submission_id, s.province_code, coalesce(s.province_name, ''), coalesce(s.period, ''),
       s.source_file, s.status, s.version, s.error_count, s.warning_count, s.processed_at
from raw.submissions s
order by s.processed_at desc, s.submission_id desc
limit %s
"""

_FINDINGS_SQL = """
select v.submission_id, v.severity, v.rule, coalesce(v.sheet, ''), v.excel_row,
       coalesce(v.column_header, ''), coalesce(v.value, ''),
       concat_ws(' / ', v.expected_vi, v.expected_en),
       v.message_vi, v.message_en
from audit.validation_results v
where v.submission_id = any(%s)
order by v.submission_id, v.severity, v.sheet nulls first, v.excel_row nulls first, v.result_id
"""

_RULES_SQL = """
select v.rule, v.severity, count(*), count(distinct v.submission_id)
from audit.validation_results v
where v.submission_id = any(%s)
group by 1, 2
order by 3 desc
"""

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3} .error{color:#b00020} .warning{color:#a06000}
.rejected{background:#fde7ea} .accepted_with_warnings{background:#fff6e0}
.accepted{background:#eaf7ea} .superseded{color:#888}
details{margin:.3em 0} summary{cursor:pointer}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[object]], row_class=None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{_e(row_class(i))}"' if row_class else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(submissions: list[tuple], findings: list[tuple], by_rule: list[tuple]) -> str:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    per_submission: dict[int, list[tuple]] = {}
    for f in findings:
        per_submission.setdefault(f[0], []).append(f)
    counts: dict[str, int] = {}
    for s in submissions:
        counts[s[5]] = counts.get(s[5], 0) + 1
    parts = [
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>",
        "<title>Kết quả kiểm tra báo cáo / Validation results</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Kết quả kiểm tra báo cáo / Validation results</h1>",
        f"<p>Cập nhật / generated: {_e(generated)} — {len(submissions)} tệp gần nhất / latest "
        "files. " + ", ".join(f"{_e(k)}: {v}" for k, v in sorted(counts.items())) + "</p>",
        "<h2>Theo quy tắc / By rule</h2>",
        _table(["rule", "severity", "findings", "files"], [list(r) for r in by_rule]),
        "<h2>Theo tệp / By file</h2>",
        _table(["#", "tỉnh / province", "kỳ / period", "tệp / file", "status", "version",
                "lỗi / errors", "cảnh báo / warnings", "processed"],
               [[s[0], f"{s[1]} {s[2]}", s[3], s[4], s[5], s[6] or "", s[7], s[8],
                 s[9].strftime("%Y-%m-%d %H:%M") if s[9] else ""] for s in submissions],
               row_class=lambda i: submissions[i][5]),
        "<h2>Chi tiết / Details</h2>",
    ]
    for s in submissions:
        items = per_submission.get(s[0])
        if not items:
            continue
        rows = [[f[1], f[2], f[3], f[4] or "", f[5], f[6], f[7], f"{f[8]} / {f[9]}"]
                for f in items]
        parts.append(
            f"<details><summary>#{s[0]} {_e(s[1])} {_e(s[3])} — {_e(s[4])} ({_e(s[5])}: "
            f"{s[7]} lỗi / errors, {s[8]} cảnh báo / warnings)</summary>"
            + _table(["severity", "rule", "sheet", "row", "column", "value", "expected",
                      "message"], rows, row_class=lambda i, items=items: items[i][1])
            + "</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def refresh_validation_docs(conn: psycopg.Connection | None = None) -> str:
    """Rebuild `<home>/reports/docs/index.html` from the audit tables; returns its path."""
    target_dir = settings.home().ensure().reports / "docs"
    target_dir.mkdir(parents=True, exist_ok=True)
    if conn is None:
        from ingest import warehouse

        with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as own:
            return refresh_validation_docs(own)
    submissions = conn.execute(_SUBMISSIONS_SQL, [LATEST_SUBMISSIONS]).fetchall()
    ids = [s[0] for s in submissions]
    findings = conn.execute(_FINDINGS_SQL, [ids]).fetchall() if ids else []
    by_rule = conn.execute(_RULES_SQL, [ids]).fetchall() if ids else []
    page = target_dir / "index.html"
    tmp = page.with_name(f".index.{os.getpid()}.tmp")
    tmp.write_text(render_html(submissions, findings, by_rule), encoding="utf-8")
    os.replace(tmp, page)  # readers never see a half-written page
    return str(Path(page))
