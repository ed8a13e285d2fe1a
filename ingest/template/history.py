"""What the warehouse already knows about a province, to pre-fill its next template.

The term targets come from the latest current-version report of the same term (under any of its
labels) and the same province, the units of GiamNgheo from the latest current-version report
that names any. Both only from reports made under the same province codes as the template's
period (contract §1: code `15` is Yên Bái before 1 July 2025 and the new Lào Cai after, so their
targets and units are not each other's; targets never pass from old provinces to a merged one).
From the 2025 annual report on the units are communes: only units matched to a commune of the
province are pre-filled, under their official names; with no such history the rows stay blank.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.periods import Period, Term, parse_period
from ingest.reference import communes, same_term_labels


@dataclass
class History:
    """Pre-fill of one province's template; empty when the warehouse has nothing yet."""

    targets: dict[str, float] = field(default_factory=dict)  # indicator code -> target
    targets_period: str | None = None  # the report they come from
    units: list[str] = field(default_factory=list)  # unit names, as last written
    units_period: str | None = None


def _latest(rows: Iterable[tuple[str, str, object]], period: Period) -> dict[str, tuple[str, list]]:
    """province -> (latest period under the same codes as `period`, its values in order)."""
    by_report: dict[tuple[str, str], list] = defaultdict(list)
    for province, report_period, *values in rows:
        by_report[(province, report_period)].append(values[0] if len(values) == 1 else values)
    latest: dict[str, tuple[str, list]] = {}
    order: dict[str, tuple] = {}
    for (province, code), values in by_report.items():
        p = parse_period(code)
        if p is None or p.uses_new_codes != period.uses_new_codes:
            continue
        key = (p.end, p.kind == "annual", p.code)  # the annual report wins over a review
        if province not in order or key > order[province]:
            order[province], latest[province] = key, (p.code, values)
    return latest


def load_history(province_codes: list[str], period: Period, term: Term) -> dict[str, History]:
    """History of each province from the warehouse (one query for targets, one for units)."""
    import psycopg

    from ingest import warehouse
    from ingest.warehouse import query

    params = {"province_codes": province_codes, "terms": same_term_labels(term.code)}
    try:
        with psycopg.connect(warehouse.warehouse_url()) as conn:
            targets = conn.execute(query("template_targets"), params).fetchall()
            units = conn.execute(query("template_units"), params).fetchall()
    except psycopg.OperationalError as exc:
        raise warehouse.WarehouseError(
            f"cannot read the warehouse to pre-fill the template ({exc}); use --no-prefill "
            "to write it without targets and units from earlier reports") from exc
    result = {code: History() for code in province_codes}
    for province, (report_period, values) in _latest(targets, period).items():
        result[province].targets = {code: value for code, value in values}
        result[province].targets_period = report_period
    for province, (report_period, names) in _latest(units, period).items():
        seen: dict[str, None] = {}
        for name, commune_code in names:
            if period.uses_new_codes:  # communes only, as the official list spells them
                commune = communes().get(commune_code or "")
                if commune is None or commune.province_code != province:
                    continue
                name = commune.name
            seen.setdefault(name, None)
        if not seen:
            continue
        result[province].units = list(seen)
        result[province].units_period = report_period
    return result
