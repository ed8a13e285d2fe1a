"""How numbers and times are printed for people, the Vietnamese way: the Jinja filters the pages
(`ingest/pages/templates/`) and the receipts (`ingest/outbox/templates/`) share."""

from __future__ import annotations

from ingest.local_time import local_time
from ingest.read.numbers import vn_number


def number(value, decimals: int = 2) -> str:
    """1.284 and 11,54: numbers the Vietnamese way; empty for NULL."""
    return "" if value is None else vn_number(value, decimals=decimals)


def millions(value, decimals: int = 1) -> str:
    """An amount in đồng as millions (1.250,5 triệu đồng); empty for NULL."""
    return "" if value is None else vn_number(float(value) / 1_000_000, decimals=decimals)


def amount(value, unit: str | None = None) -> str:
    """A figure with its unit (12,5%, 1.284 hộ, 7); `?` for NULL."""
    if value is None:
        return "?"
    if unit == "%":
        return number(value) + "%"
    return f"{number(value)} {unit}" if unit else number(value)


FILTERS = {"number": number, "millions": millions, "amount": amount, "local_time": local_time}


_RUN_LINE = {
    "vi": {"period": "kỳ {}", "rows": "{} dòng", "errors": "{} lỗi", "warnings": "{} cảnh báo"},
    "en": {"period": "period {}", "rows": "{} rows", "errors": "{} error(s)",
           "warnings": "{} warning(s)"},
}
# outcomes whose line quotes the run's message (why it failed, waits, was refused, duplicates)
_WITH_MESSAGE = {"failed", "deferred", "duplicate", "refused"}


def run_details(result: dict, lang: str) -> str:
    """What a run line says about one processed file (`lhpn run`'s progress, the Airflow task
    log), one format for both: `kỳ 2024, v2, 12 dòng, 1 cảnh báo`; empty when nothing to say.
    `result` is a FileResult as a dict."""
    words = _RUN_LINE[lang]
    detail = [words["period"].format(result["period"]) if result.get("period") else None,
              f"v{result['version']}" if result.get("version") else None,
              *(words[key].format(result[key]) if result.get(key) else None
                for key in ("rows", "errors", "warnings")),
              result.get("message") if result["event"] in _WITH_MESSAGE else None]
    return ", ".join(d for d in detail if d)
