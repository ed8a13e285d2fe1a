"""The shipped Apache Superset dashboard (docs/superset/lhpn_dashboard/, issue 19), bundled for
Superset's own import command.

The folder is a Superset export (metadata, database, datasets on the marts, charts, dashboard)
whose database URI carries Superset's password mask. `bundle()` zips it as
`superset import-dashboards -p` reads it, with the database URI replaced by `lhpn bi-url`, so
the imported dashboard opens the warehouse as bi_reader with no further step.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import yaml

from ingest import warehouse
from ingest.settings import PROJECT_ROOT

EXPORT = PROJECT_ROOT / "docs" / "superset" / "lhpn_dashboard"


def sqlalchemy_uri(libpq_url: str) -> str:
    """A libpq URL as a SQLAlchemy URI of the psycopg2 driver Superset ships with."""
    scheme, _, rest = libpq_url.partition("://")
    return f"postgresql+psycopg2://{rest}" if scheme in {"postgresql", "postgres"} else libpq_url


def bundle(output: Path, url: str | None = None) -> Path:
    """Write the dashboard export as a zip for `superset import-dashboards -p`, its database
    pointed at `url` (default: `lhpn bi-url`)."""
    uri = sqlalchemy_uri(url or warehouse.bi_url())
    output.parent.mkdir(parents=True, exist_ok=True)
    root = "lhpn_dashboard"
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(EXPORT.rglob("*.yaml")):
            relative = path.relative_to(EXPORT).as_posix()
            text = path.read_text(encoding="utf-8")
            if relative.startswith("databases/"):
                config = yaml.safe_load(text)
                config["sqlalchemy_uri"] = uri
                text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            archive.writestr(f"{root}/{relative}", text)
    output.chmod(0o600)  # holds the BI password
    return output
