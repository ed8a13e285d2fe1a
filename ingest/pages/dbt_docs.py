"""dbt's documentation of every model and column, served from `site/dbt/index.html`.

`dbt docs generate --static` writes one self-contained page (manifest and catalog embedded), so
it opens from `file://` without a server. Generating it takes seconds (a compile and a catalog
query), so a routine run regenerates it only when the dbt project changed (a fingerprint of its
files); `lhpn docs` always does.

Two changes to dbt's page keep it offline: a Content-Security-Policy that lets the page run its
own inline code and data: images but fetch nothing (dbt's anonymous-usage tracker, off in our
manifest anyway, would load a script from the internet), and no favicon link (it points at a
file dbt does not ship). A third makes it usable on a phone (contract §8): dbt lays the page out
at least 960 px wide; below 700 px the model tree is hidden (the search box above each page finds
every model and column) and the page takes the screen's width.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ingest.settings import dbt_project_dir

DIR = "dbt"
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
       "style-src 'unsafe-inline'; img-src data:; font-src data:")
PHONE_CSS = ("@media (max-width: 700px) { body, .app { min-width: 0 !important; } "
             ".app { width: 100% !important; } .app-menu { display: none !important; } "
             ".app-content { width: 100% !important; flex: 1 1 100% !important; } "
             ".launcher { display: none !important; } }")
_FAVICON = re.compile(r'<link rel="shortcut icon"[^>]*>')
_HEAD = re.compile(r"<head>", re.IGNORECASE)


def fingerprint() -> str:
    """Hash of everything the docs are made from in the dbt project (models, macros, seeds...)."""
    digest = hashlib.sha256()
    project = dbt_project_dir()
    for folder in ("models", "macros", "seeds", "tests", "snapshots", "analyses"):
        for path in sorted((project / folder).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(project)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    digest.update((project / "dbt_project.yml").read_bytes())
    return digest.hexdigest()


def offline(page: str) -> str:
    """dbt's static page, made to fetch nothing: CSP meta first in <head>, no favicon link."""
    page = _FAVICON.sub("", page)
    meta = (f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<style>{PHONE_CSS}</style>")
    return _HEAD.sub(lambda m: m.group(0) + meta, page, count=1)


def needs_refresh(site: Path, previous: dict | None) -> bool:
    page = site / DIR / "index.html"
    return not page.exists() or not previous or previous.get("fingerprint") != fingerprint()


def generate(site: Path) -> Path:
    """Run `dbt docs generate --static` and install its page as site/dbt/index.html."""
    from ingest.marts.build import docs_generate
    from ingest.receive.archive import write_if_changed

    static = docs_generate()
    page = site / DIR / "index.html"
    write_if_changed(page, offline(static.read_text(encoding="utf-8")))
    return page
