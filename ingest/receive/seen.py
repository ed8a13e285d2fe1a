"""When the warehouse first saw a file (contract §7): `received_at`, never the file's mtime.

One query (`queries/first_seen.sql`) records the first sighting of each content durably in
`audit.inbox_seen` and returns it, so a file retried after a failure or a restart keeps the time
it was first seen. The mtime is kept apart (`file_modified_at`): copies keep the author's last
edit time, which says nothing about when the report arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ingest.receive.names import display_name
from ingest.receive.settle import Seen
from ingest.warehouse import query


def first_seen(conn: psycopg.Connection, sha256: str, path: Path, province: str, seen: Seen,
               backfill: bool = False) -> datetime:
    """Record (once) that the settled file `path` with content `sha256` was seen now; return when
    it was first seen. `backfill` marks a run importing history on purpose."""
    return conn.execute(query("first_seen"), {
        "sha256": sha256, "source_file": display_name(path.name), "province_code": province,
        "size_bytes": seen.size,
        "file_modified_at": datetime.fromtimestamp(seen.mtime, UTC),
        "is_backfill": backfill,
    }).fetchone()[0]
