"""The texts of the outbox (receipts, reminders) through Jinja: plain-text templates in
`ingest/outbox/templates/`, with the pages' number and time filters (`ingest/formats.py`), the
one table of labels (`ingest/labels.py`) and the report's finding formatter."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from ingest.formats import FILTERS
from ingest.labels import LOADED, label
from ingest.receive.names import display_name
from ingest.validate.report import outcome_text, render_findings

RULE = "=" * 72


def short(code_set: str, code: str, lang: str) -> str:
    """A code's short form in one language (`vượt`, `exceeded`)."""
    entry = label(code_set, code)
    return entry.short_vi if lang == "vi" else entry.short_en


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("ingest.outbox", "templates"), autoescape=False,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, extensions=["jinja2.ext.do"],
                      auto_reload=False)  # package files: not stat-ed again for every receipt
    env.filters.update(FILTERS, shown=display_name)
    env.globals.update(RULE=RULE, LOADED=LOADED, outcome_text=outcome_text,
                       findings=render_findings, short=short)
    return env


def render(name: str, /, **context) -> str:
    """Fill the template `name` (a file of ingest/outbox/templates/)."""
    return environment().get_template(name).render(**context)


@lru_cache(maxsize=16)
def macro(name: str, macro_name: str):
    """The macro `macro_name` of the template `name`, to call from Python: a text written for
    every file of a run is a macro, and calling it skips the cost of a template render (a new
    context, the imports looked up again) each time."""
    return getattr(environment().get_template(name).module, macro_name)
