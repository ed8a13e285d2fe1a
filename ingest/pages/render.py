"""HTML through Jinja2 with autoescaping, written atomically, in Unicode NFC."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ingest.local_time import local_time
from ingest.pages.charts import FONT_FAMILY, ROLE_LABELS, STATUS_LABELS
from ingest.pages.data import as_json
from ingest.read.numbers import vn_number

OUTCOME_LABELS = {
    "accepted": "đã nhận / accepted",
    "accepted_with_warnings": "nhận, có cảnh báo / accepted with warnings",
    "rejected": "từ chối / rejected",
    "superseded": "đã thay thế / superseded",
    "missing": "chưa nộp / missing",
    "not_due": "chưa đến hạn / not yet due",
}


def number(value, decimals: int = 2) -> str:
    """1.284 and 11,54: numbers the Vietnamese way; empty for NULL."""
    return "" if value is None else vn_number(value, decimals=decimals)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ingest.pages", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Chart specs go into <script type="application/json">; tojson escapes <, >, & and '.
    env.policies["json.dumps_kwargs"] = {"default": as_json, "ensure_ascii": False}
    env.filters.update(number=number, local_time=local_time)
    env.globals.update(font_family=FONT_FAMILY, outcome_labels=OUTCOME_LABELS,
                       status_labels=STATUS_LABELS, role_labels=ROLE_LABELS)
    return env


def write_page(path: Path, template: str, **context) -> Path:
    """Render a template to `path` atomically (readers never see a half-written page)."""
    text = environment().get_template(template).render(**context)
    write_text(path, unicodedata.normalize("NFC", text))
    return path


def write_text(path: Path, text: str) -> None:
    """Write atomically, and not at all when the file already holds this text (a routine run
    rewrites only the pages whose content changed); never through a symbolic link."""
    from ingest.receive.archive import write_if_changed

    write_if_changed(path, text.encode("utf-8"))
