"""The static, offline site of contract §8 in `site/` of the data home.

Stub: filled in by issue 13.
"""

from __future__ import annotations

from pathlib import Path


def build_site(run_id: str | None = None) -> Path | None:
    """(Re)build every page; return the path of `site/index.html`."""
    return None
