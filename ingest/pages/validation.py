"""The validation results page, `site/validation.html` (contract §8).

The equivalent of GX Data Docs for this warehouse: GX runs in an ephemeral context once per run
(nothing on disk), and what a reader wants is per file, in the clerk's terms (sheet, Excel row,
column header). The page reads the marts `submission_versions` and `validation_findings` as
bi_reader, like every page of the site: the latest files with their findings, and the findings
counted by rule and the files by outcome (counted in SQL: `site_findings_by_rule`, `site_outcomes`).
It used to be `reports/docs/index.html`; that file is removed when the page is rebuilt.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ingest.pages.data import LATEST_FILES, SiteData
from ingest.pages.render import write_page

PAGE = "validation.html"


def context(data: SiteData) -> dict:
    files = data.versions[:LATEST_FILES]
    shown = {f["submission_id"] for f in files}
    per_file: dict[int, list[dict]] = defaultdict(list)
    for finding in data.findings:
        if finding["submission_id"] in shown:
            per_file[finding["submission_id"]].append(finding)
    return {"files": files, "per_file": per_file, "rules": data.findings_by_rule,
            "outcomes": data.outcomes, "latest_files": LATEST_FILES}


def write_validation_page(site: Path, data: SiteData, built: dict, **common) -> Path:
    page = write_page(site / PAGE, "validation.html.j2", built=built, **common, **context(data))
    _retire_old_page()
    return page


def _retire_old_page() -> None:
    from ingest import settings

    old = settings.home().reports / "docs" / "index.html"
    old.unlink(missing_ok=True)
    try:
        old.parent.rmdir()
    except OSError:
        pass  # absent, or something else lives there
