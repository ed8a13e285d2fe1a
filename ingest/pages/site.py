"""The static, offline site of contract §8 in `site/` of the data home.

    site/index.html              links to everything; when and from which run each part was built
    site/dashboard.html          scorecards, emulation rankings, poverty support, submission status
    site/province/<code>.html    one page per province with a submission (receipts link here)
    site/validation.html         the validation results of the latest files
    site/dbt/index.html          dbt's documentation of every model and column
    site/assets/                 the stylesheet, the chart loader and plotly.min.js
    site/build.json              when and from which run each part was built
    outbox/<code>/trang_tinh.html  a self-contained copy of the province page (contract §3):
                                   the clerk, who sees only her outbox folder, opens it there

Everything is read from the marts through a `bi_reader` connection, so the pages show only what
BI may see. Every link is relative and every script and style is a file inside site/, so the
site works offline from `file://`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import psycopg

from ingest import settings, warehouse
from ingest.pages import dashboard, dbt_docs, province, validation
from ingest.pages.data import as_json, latest_run_id, read_site_data
from ingest.pages.render import write_page
from ingest.receive.archive import write_bytes_atomic, write_if_changed

log = logging.getLogger(__name__)

MANIFEST = "build.json"
ASSETS = "assets"


def _read_manifest(site: Path) -> dict:
    try:
        return json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _copy_assets(site: Path) -> None:
    """The stylesheet and chart loader (small, always), plotly.min.js (4 MB, when it changed)."""
    target = site / ASSETS
    target.mkdir(parents=True, exist_ok=True)
    static = resources.files("ingest.pages") / "static"
    for name in ("site.css", "site.js"):
        write_if_changed(target / name, (static / name).read_text(encoding="utf-8"))
    plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"
    with resources.as_file(plotly_js) as source:
        copy = target / "plotly.min.js"
        if not copy.exists() or copy.stat().st_size != source.stat().st_size:
            write_bytes_atomic(copy, source.read_bytes())


OUTBOX_PAGE = "trang_tinh.html"


def outbox_page(province_code: str, outbox: Path | None = None) -> Path:
    """Where the outbox copy of a province's page is: `outbox/<code>/trang_tinh.html`."""
    return (outbox or settings.home().outbox) / province_code / OUTBOX_PAGE


def _inline_assets() -> dict[str, str]:
    """The stylesheet, the chart loader and plotly.js as text, for a page that must open
    alone (a copy in an outbox, on a share): it links to nothing."""
    static = resources.files("ingest.pages") / "static"
    plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"
    return {"css": (static / "site.css").read_text(encoding="utf-8"),
            "js": (static / "site.js").read_text(encoding="utf-8"),
            "plotly": plotly_js.read_text(encoding="utf-8").replace("</script", "<\\/script")}


def write_outbox_pages(provinces: dict[str, dict], stamp: dict) -> None:
    """The province pages copied into each province's outbox folder. With LHPN_SITE_URL set
    its links lead to the served site; without, the copy has no link at all (the clerk sees
    nothing outside her folders)."""
    url = settings.site_url()
    assets = _inline_assets()
    for code, page in provinces.items():
        write_page(outbox_page(code), "province.html.j2", built=stamp, p=page,
                   root=f"{url}/" if url else None, inline_assets=assets,
                   province_codes=set(provinces) if url else set(),
                   province_path=province.page_path)


def _remove_stale_provinces(site: Path, codes: set[str]) -> None:
    for page in (site / province.PAGE_DIR).glob("*.html"):
        if page.stem not in codes:
            page.unlink(missing_ok=True)


def build_site(run_id: str | None = None, *, parts: set[str] | None = None,
               dbt_docs_refresh: bool | None = None) -> Path:
    """(Re)build the pages; return the path of `site/index.html`.

    `parts` limits the rebuild (default: dashboard, provinces and validation; dbt docs when the
    dbt project changed). `dbt_docs_refresh` True regenerates the dbt docs whatever changed (what
    `lhpn docs` does), False never. `run_id` names the run the pages reflect (default: the
    latest run in the warehouse).
    """
    site = settings.home().site
    site.mkdir(parents=True, exist_ok=True)
    parts = set(parts or {"dashboard", "provinces", "validation"})
    manifest = _read_manifest(site)
    built_parts: dict = manifest.get("parts", {})

    with psycopg.connect(warehouse.bi_url(), autocommit=True) as conn:  # migrates first
        data = read_site_data(conn)
    if run_id is None:
        with psycopg.connect(warehouse.server_url()) as conn:
            run_id = latest_run_id(conn)
    now = datetime.now(UTC)
    stamp = {"built_at": now.isoformat(timespec="seconds"), "run_id": run_id}

    _copy_assets(site)
    provinces = province.contexts(data)
    common = {"root": "", "province_codes": set(provinces), "province_path": province.page_path}
    if "dashboard" in parts:
        write_page(site / "dashboard.html", "dashboard.html.j2", built=stamp, **common,
                   **dashboard.context(data))
        built_parts["dashboard"] = stamp
    if "provinces" in parts:
        for code, page in provinces.items():
            write_page(site / province.page_path(code), "province.html.j2", built=stamp,
                       **{**common, "root": "../"}, p=page)
        _remove_stale_provinces(site, set(provinces))
        write_outbox_pages(provinces, stamp)
        built_parts["provinces"] = {**stamp, "count": len(provinces)}
    if "validation" in parts:
        validation.write_validation_page(site, data, stamp, **common)
        built_parts["validation"] = stamp

    want_docs = dbt_docs_refresh is True or (
        dbt_docs_refresh is None and dbt_docs.needs_refresh(site, built_parts.get("dbt_docs")))
    if want_docs:
        fingerprint = dbt_docs.fingerprint()
        try:
            dbt_docs.generate(site)
            built_parts["dbt_docs"] = {
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"), "run_id": run_id,
                "fingerprint": fingerprint}
        except Exception as exc:  # noqa: BLE001 - the other pages stay useful without dbt docs
            if dbt_docs_refresh:
                raise
            log.warning("dbt docs could not be generated: %s", exc)
            built_parts.setdefault("dbt_docs", {})["error"] = str(exc)

    if not (site / dbt_docs.DIR / "index.html").exists():  # keep every link resolving
        write_page(site / dbt_docs.DIR / "index.html", "dbt_missing.html.j2", built=stamp,
                   root="../", error=built_parts.get("dbt_docs", {}).get("error"))

    manifest = {"built_at": stamp["built_at"], "run_id": run_id, "parts": built_parts}
    write_if_changed(site / MANIFEST, json.dumps(manifest, indent=2, default=as_json))
    index = write_page(site / "index.html", "index.html.j2", built=stamp, parts=built_parts,
                       provinces=provinces, **{**common})
    return index
