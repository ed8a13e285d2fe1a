"""The Airflow Assets of the warehouse, defined once for every DAG (and the inbox watcher).

Imported by the DAG files at parse time, so it stays light: no database, no environment reads,
no pandas or dbt. The watcher's trigger resolves the inbox folder when it runs, in the triggerer.

- `INBOX`: report files waiting in the inbox. Its watcher fires an asset event as soon as a new
  settled file is there, so `lhpn_ingest` starts within seconds instead of at the next tick of
  its safety-net schedule.
- `RAW_SUBMISSIONS`: the submissions in `raw.*` and what happened to each file. `lhpn_ingest`
  publishes it whenever a run processed a file (accepted, rejected or a duplicate: each changes
  the status, pages or receipts); `lhpn_warehouse` is scheduled on it and builds what is stale.
- `MARTS`: the `marts` schema BI reads, published by `lhpn_warehouse` after a good build.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

# How often the triggerer looks at the inbox (a directory listing: cheap), so a dropped file
# starts lhpn_ingest within seconds; the cron schedule of lhpn_ingest is the safety net.
INBOX_POKE_SECONDS = 1.0
# An asset event carries at most this many file names (the ingest run lists the inbox itself).
_EVENT_FILE_NAMES = 20

Fingerprint = tuple[str, int, int]


def _ready_files() -> set[Fingerprint]:
    """Inbox files the pipeline would take now, each with its size and mtime.

    The settle rule is the pipeline's own (`ingest.receive.settle`): a file younger than its
    settle window (about a second for a closed file on a local folder, `LHPN_SETTLE_SECONDS`
    elsewhere) may still be being written, so it is left out and announced by a later scan
    once it has settled; a file whose mtime lies in the future is announced at once (the run
    watches it for the window instead of trusting its clock). Links and special files are
    listed too: the run refuses them with a log entry.
    """
    # imported in the triggerer only, never at parse time
    from ingest.receive.inbox import list_inbox
    from ingest.receive.names import local_path
    from ingest.receive.settle import ready_now, settle_window
    from ingest.settings import settle_seconds

    settle = settle_seconds()
    ready: set[Fingerprint] = set()
    for path in list_inbox():
        try:
            stat = os.lstat(local_path(path))
        except FileNotFoundError:  # picked up by a running ingest between listing and stat
            continue
        if ready_now(stat, settle) or ready_now(stat, settle_window(local_path(path), stat,
                                                                   settle)):
            ready.add((path, stat.st_size, stat.st_mtime_ns))
    return ready


class InboxTrigger(BaseEventTrigger):
    """Fire an event whenever a settled file appears in the inbox that the last scan did not see.

    Unlike the standard provider's file triggers it never deletes or moves anything: the inbox
    belongs to the pipeline, which archives each file when it processes it. The set of files
    already announced lives in memory; after a triggerer restart the files still waiting are
    announced once more, which only costs an ingest run that finds them (or nothing) to do.
    """

    def __init__(self, poke_interval: float = INBOX_POKE_SECONDS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("ingest.airflow.assets.InboxTrigger", {"poke_interval": self.poke_interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        announced: set[Fingerprint] = set()
        while True:
            try:
                ready = await asyncio.to_thread(_ready_files)
            except OSError as exc:  # e.g. a network share briefly gone: try again next time
                self.log.warning("Cannot scan the inbox: %s", exc)
                ready = announced
            new = ready - announced
            if new:
                names = sorted(path for path, _, _ in new)
                self.log.info("%d new file(s) in the inbox", len(names))
                yield TriggerEvent({"new_files": len(names), "files": names[:_EVENT_FILE_NAMES]})
            # Forget files that left the inbox, so a later drop under the same name fires again.
            announced = ready
            await asyncio.sleep(self.poke_interval)


INBOX = Asset(
    name="lhpn_inbox",
    uri="x-lhpn://inbox",
    group="lhpn",
    watchers=[AssetWatcher(name="lhpn_inbox_watcher", trigger=InboxTrigger())],
)

RAW_SUBMISSIONS = Asset(name="lhpn_raw_submissions", uri="x-lhpn://warehouse/raw", group="lhpn")

MARTS = Asset(name="lhpn_marts", uri="x-lhpn://warehouse/marts", group="lhpn")
