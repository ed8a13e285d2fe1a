"""What the pages show, read from the marts as `bi_reader`: the site shows only what BI may see.

One connection, one query per mart (`ingest/sql/queries/site_*.sql`), and the validation page's
counts by rule and outcome; the pages group and filter these rows in Python (no sums), so
building every page costs a handful of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row
from psycopg.types.numeric import FloatLoader

from ingest.warehouse import query

LATEST_FILES = 500  # files listed on the validation page, newest first


def plain(value):
    """A value ready for JSON and templates: Decimal -> int or float, dates stay dates."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def period_key(row: dict) -> tuple:
    """Sort key of a mart row's period: by the period's dates as the marts carry them (2025-6T
    before 2025), rows without a period last."""
    return (row.get("period_end_date") or date.max, row.get("period_start_date") or date.max,
            row.get("period") or "")


@dataclass
class SiteData:
    scorecards: list[dict] = field(default_factory=list)
    attainment: list[dict] = field(default_factory=list)
    rankings: list[dict] = field(default_factory=list)
    poverty: list[dict] = field(default_factory=list)
    poverty_2025: list[dict] = field(default_factory=list)
    poverty_communes: list[dict] = field(default_factory=list)  # from 2025, per commune
    poverty_rollups: list[dict] = field(default_factory=list)  # per region and cluster
    status: list[dict] = field(default_factory=list)
    versions: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    findings_by_rule: list[dict] = field(default_factory=list)  # of the latest files listed
    outcomes: dict[str, int] = field(default_factory=dict)  # of the latest files listed
    headline: list[dict] = field(default_factory=list)  # marts.headline_figures, latest first
    rounds: list[dict] = field(default_factory=list)  # marts.reporting_rounds

    @property
    def periods(self) -> list[str]:
        """Every period of the status grid, sorted by date."""
        keys = {period_key(r) for r in self.status if r["period"]}
        return [key[2] for key in sorted(keys)]

    def province_codes(self) -> list[str]:
        """Provinces with at least one file received: each gets a page."""
        return sorted({r["province_code"] for r in self.versions})


def _rows(conn: psycopg.Connection, name: str, **params) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query(name), params).fetchall()


def marts_exist(conn: psycopg.Connection) -> bool:
    return conn.execute("select to_regclass('marts.submission_versions') is not null"
                        ).fetchone()[0]


def read_site_data(conn: psycopg.Connection) -> SiteData:
    """Every row the pages need, from the marts (conn is a bi_reader connection)."""
    if not marts_exist(conn):
        return SiteData()
    # numbers as floats: what the charts and templates format (a page needs no Decimal)
    conn.adapters.register_loader("numeric", FloatLoader)
    versions = _rows(conn, "site_versions")
    latest = [v["submission_id"] for v in versions[:LATEST_FILES]]
    return SiteData(
        scorecards=_rows(conn, "site_scorecards"),
        attainment=_rows(conn, "site_attainment"),
        rankings=_rows(conn, "site_rankings"),
        poverty=_rows(conn, "site_poverty"),
        poverty_2025=_rows(conn, "site_poverty_2025"),
        poverty_communes=_rows(conn, "site_poverty_communes"),
        poverty_rollups=_rows(conn, "site_poverty_rollups"),
        status=_rows(conn, "site_status"),
        versions=versions,
        findings=_rows(conn, "site_findings", submission_ids=latest),
        findings_by_rule=_rows(conn, "site_findings_by_rule", submission_ids=latest),
        outcomes={r["lifecycle_status"]: r["files"]
                  for r in _rows(conn, "site_outcomes", submission_ids=latest)},
        headline=_headline(conn),
        rounds=_rows(conn, "site_rounds") if conn.execute(
            "select to_regclass('marts.reporting_rounds') is not null").fetchone()[0] else [],
    )


def _headline(conn: psycopg.Connection) -> list[dict]:
    """The headline figures; none while the marts predate that model."""
    if not conn.execute("select to_regclass('marts.headline_figures') is not null").fetchone()[0]:
        return []
    return _rows(conn, "site_headline")


def latest_run_id(conn: psycopg.Connection) -> str | None:
    """The most recent pipeline run (warehouse role: audit is not BI's to read)."""
    row = conn.execute(query("latest_run")).fetchone()
    return row[0] if row else None


def as_json(value):
    """json.dumps default: dates and datetimes as ISO text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
