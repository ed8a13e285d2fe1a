"""`lhpn rebuild`: the warehouse rebuilt from the archive alone.

The archive keeps every file received, byte for byte, and `archive/ingest-log.jsonl` the order
they were received in (run by run, with the path each came from and when it was first received).
A rebuild empties the warehouse's raw and audit tables and replays the files run by run through
`pipeline.process_files`, the same code an ingest run uses: each run's files are staged in a
folder of their own (never the live inbox) under their original folders and names, so the same
files meet the same checks in the same order and get the same versions and statuses; then the
marts are built. Receipts, quarantine copies and reports are written again as the replay decides.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import datetime
from itertools import groupby
from pathlib import Path

import psycopg
from psycopg import sql

from ingest import settings, warehouse
from ingest.receive import archive
from ingest.receive.names import local_path, portable_path
from ingest.warehouse import query

STAGE = "rebuild-staging"  # in the data home: one run's files at a time


def warehouse_is_empty(conn: psycopg.Connection) -> bool:
    return not conn.execute(query("warehouse_has_submissions")).fetchone()[0]


def empty_warehouse(conn: psycopg.Connection) -> list[str]:
    """Truncate every table of the raw and audit schemas (the migrations' record aside)."""
    tables = [(r[0], r[1]) for r in conn.execute(query("rebuild_tables"))]
    if tables:
        conn.execute(sql.SQL("truncate {} restart identity cascade").format(
            sql.SQL(", ").join(sql.Identifier(*t) for t in tables)))
    return [".".join(t) for t in tables]


def rebuild(*, build: bool = True,
            progress: Callable[[int, int, dict], None] | None = None) -> dict:
    """Empty the warehouse and replay the archive in the order of the ingest log; returns
    counts. Raises `WarehouseError` when there is nothing to replay."""
    from ingest.pipeline import process_files

    data_home = settings.home().ensure()
    entries = archive.read_manifest(data_home.archive)
    if not entries:
        raise warehouse.WarehouseError(
            f"nothing to rebuild from: {data_home.archive / archive.MANIFEST} is missing or "
            "empty (it lists the files received, in order, since the warehouse kept it)")
    url = warehouse.warehouse_url()
    with psycopg.connect(url, autocommit=True) as conn:
        empty_warehouse(conn)
    stage = data_home.root / STAGE
    # a file deferred as a fragment while it was still arriving was not taken in that run
    deferred = {(e["run_id"], e["sha256"]) for e in entries if e.get("deferred")}
    entries = [e for e in entries if not e.get("deferred")
               and (e["run_id"], e["sha256"]) not in deferred]
    runs = [list(group) for _, group in groupby(entries, key=lambda e: e["run_id"])]
    totals: dict[str, int] = {"runs": len(runs), "files": 0}
    saved_inbox = os.environ.get("LHPN_INBOX")
    try:
        os.environ["LHPN_INBOX"] = str(stage)
        for number, run in enumerate(runs, 1):
            shutil.rmtree(stage, ignore_errors=True)
            staged, received = _stage(data_home.root, stage, data_home.inbox, run)
            summary = process_files(list(staged), trigger="rebuild", replayed=received)
            _restore_paths(url, staged)
            counts = summary.as_dict()
            totals["files"] += counts["files"]
            for key in ("accepted", "rejected", "duplicates", "failed"):
                totals[key] = totals.get(key, 0) + counts[key]
            if progress:
                progress(number, len(runs), counts)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if saved_inbox is None:
            os.environ.pop("LHPN_INBOX", None)
        else:
            os.environ["LHPN_INBOX"] = saved_inbox
    if build:
        from ingest.marts.build import refresh_marts
        from ingest.publish import refresh_outputs

        totals["marts"] = refresh_marts(full_refresh=True)["plan"]
        refresh_outputs()
    return totals


def _stage(root: Path, stage: Path, real_inbox: Path, run: list[dict]
           ) -> tuple[dict[str, Path], dict]:
    """Copy one run's archived files under their inbox folders and names, with the
    modification time they came with; (staged path -> original inbox path, staged path ->
    (when first received, backfill))."""
    staged: dict[str, Path] = {}
    received: dict[str, tuple[datetime, bool]] = {}
    for entry in run:
        rel = Path(local_path(entry["inbox_path"]))
        target = stage / rel
        if portable_path(str(target)) in staged:
            continue  # the same path twice in one run: its first receipt counts
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((root / entry["archive_path"]).read_bytes())
        when = datetime.fromisoformat(entry["received_at"])
        modified = datetime.fromisoformat(entry.get("modified_at") or entry["received_at"])
        os.utime(target, (modified.timestamp(), modified.timestamp()))  # as it came
        key = portable_path(str(target))
        staged[key] = real_inbox / rel
        received[key] = (when, bool(entry.get("backfill")))
    return staged, received


def _restore_paths(url: str, staged: dict[str, Path]) -> None:
    """The ingest log names the files by their inbox paths, not the staging folder's."""
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(query("rebuild_restore_path"), [
            {"inbox_path": portable_path(str(real)), "staged_path": key}
            for key, real in staged.items()])
