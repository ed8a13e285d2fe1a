"""HTML through Jinja2 with autoescaping, written atomically, in Unicode NFC."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ingest.formats import FILTERS
from ingest.labels import CodeSet, both
from ingest.pages.charts import FONT_FAMILY
from ingest.pages.data import as_json
from ingest.receive.archive import write_if_changed


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
    env.filters.update(FILTERS)
    env.globals.update(font_family=FONT_FAMILY, outcome_labels=both(CodeSet.OUTCOME),
                       status_labels=both(CodeSet.INDICATOR_STATUS),
                       role_labels=both(CodeSet.CLUSTER_ROLE))
    return env


def write_page(path: Path, template: str, **context) -> Path:
    """Render a template to `path` atomically (readers never see a half-written page)."""
    text = environment().get_template(template).render(**context)
    write_if_changed(path, unicodedata.normalize("NFC", text))
    return path

