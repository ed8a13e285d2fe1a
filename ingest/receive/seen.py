"""When the warehouse first saw a file (contract §7): `received_at`, never the file's mtime.

One query (`queries/first_seen.sql`) records the first sighting of each content durably in
`audit.inbox_seen` and returns it, so a file retried after a failure or a restart keeps the time
it was first seen. The mtime is kept apart (`file_modified_at`): copies keep the author's last
edit time, which says nothing about when the report arrived. The files of a chunk are recorded
with one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ingest.receive.names import display_name
from ingest.receive.settle import Seen
from ingest.warehouse import query


@dataclass
class Sighting:
    """A settled file `path` with content `sha256`, seen now; `backfill` marks a run importing
    history on purpose."""

    sha256: str
    path: Path
    province: str
    seen: Seen
    backfill: bool = False


def first_seen_all(conn: psycopg.Connection, sightings: list[Sighting]) -> dict[str, datetime]:
    """Record (once) each sighting; return, by sha256, when each content was first seen. The
    same content seen twice in the chunk is recorded as first seen under its first name."""
    rows: dict[str, Sighting] = {}
    backfill: dict[str, bool] = {}
    for s in sightings:
        rows.setdefault(s.sha256, s)
        backfill[s.sha256] = backfill.get(s.sha256, False) or s.backfill
    if not rows:
        return {}
    firsts = list(rows.values())
    return dict(conn.execute(query("first_seen"), {
        "sha256": [s.sha256 for s in firsts],
        "source_file": [display_name(s.path.name) for s in firsts],
        "province_code": [s.province for s in firsts],
        "size_bytes": [s.seen.size for s in firsts],
        "file_modified_at": [datetime.fromtimestamp(s.seen.mtime, UTC) for s in firsts],
        "is_backfill": [backfill[s.sha256] for s in firsts],
    }).fetchall())


def first_seen(conn: psycopg.Connection, sha256: str, path: Path, province: str, seen: Seen,
               backfill: bool = False) -> datetime:
    """Record (once) that the settled file `path` with content `sha256` was seen now; return when
    it was first seen."""
    return first_seen_all(conn, [Sighting(sha256, path, province, seen, backfill)])[sha256]
