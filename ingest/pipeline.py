"""A run of the files in the inbox: receive, read, validate, load; then the answers.

`process_files` is what both `lhpn run` and the Airflow ingest DAG call. It takes the run's files
in chunks (`LHPN_CHUNK_FILES`), and for each chunk:

1. receive (`ingest.receive.taking`): wait until each file has settled, archive it byte for
   byte, claim it (one run per content at a time). A link or special file is refused, a file
   still changing deferred, one too large set aside unread, a byte-identical copy answered as a
   duplicate;
2. read (`ingest.read.parse`): each file parsed in a worker process with memory and CPU limits;
   a file that looks cut short and is young is left for a later run;
3. validate (`ingest.validate.run`) the chunk's files together; a file a check could not run on
   is `failed` and stays in the inbox;
4. load (`ingest.load.retry`): up to 100 files per transaction, file by file when a batch
   fails; rejected files go to the quarantine with a report (`ingest.outbox.quarantine`), and
   an inbox file is removed only while it still holds the archived bytes.

Every outcome is recorded by the run's journal (`ingest.journal`): `audit.runs`,
`audit.ingest_log`, `archive/ingest-log.jsonl`, and one `FileResult` per file, which the
receipts then answer. Bad input never raises; only failures of the system do.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ingest import isolated, journal, settings
from ingest.load import retry
from ingest.model import FileResult, RunSummary
from ingest.read import parse
from ingest.receive.inbox import list_inbox
from ingest.receive.names import local_path
from ingest.receive.taking import Receiver

log = logging.getLogger(__name__)

__all__ = ["FileResult", "RunSummary", "list_inbox", "process_files"]

# files received, locked and held in memory at a time (LHPN_CHUNK_FILES). Validation pays a
# fixed cost per chunk (each GX suite runs once per chunk: 1.7 s CPU for 1,243 files in chunks
# of 500, 1.0 s in one); 2,000 locks fit the embedded server's lock table (~7,000) with room
# for a concurrent run, and the bytes and frames of 2,000 typical reports are ~150 MB
CHUNK_FILES = 2000


def process_files(paths: list[str], *, run_id: str | None = None, trigger: str = "cli",
                  progress: Callable[[FileResult, int, int], None] | None = None,
                  replayed: dict[str, tuple[datetime, bool]] | None = None) -> RunSummary:
    """Receive (settle, archive), read (in worker processes), validate and load the files, in
    chunks of at most CHUNK_FILES (LHPN_CHUNK_FILES; so the locks, the bytes held in memory and
    the transactions of a run stay bounded however many files wait), loading up to
    `retry.LOAD_BATCH` files per transaction (file by file when a batch fails, so a failure
    stays the failing file's own).
    Every path gets exactly one `FileResult`, except a file a concurrent run took first and a
    file already processed that the inbox does not let go (`RunSummary.skipped`).
    `replayed` (`lhpn rebuild`): inbox path -> (when first seen, backfill) of each file.

    The run is recorded in `audit.runs` with its process and database session; it ends
    `succeeded` or `failed` whatever happens, and a run killed outright is marked `died` by the
    next one (its session is gone, and with it the locks on its files)."""
    from ingest import warehouse
    from ingest.outbox.receipts import write_receipts

    data_home = settings.home().ensure()
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary = RunSummary(run_id)
    url = warehouse.warehouse_url()

    # the libraries' objects are out of the run's garbage collections (`isolated.frozen_heap`)
    with isolated.frozen_heap(), psycopg.connect(url, autocommit=True) as conn:
        summary.died = journal.mark_dead_runs(conn)
        journal.start_run(conn, run_id, trigger, os.getpid(), socket.gethostname())
        try:
            run = journal.Journal(conn, run_id, data_home, summary, progress, len(paths))
            receiver = Receiver(run, replayed)
            size = settings.chunk_files(CHUNK_FILES)
            for start in range(0, len(paths), size):
                _process_chunk(receiver, paths[start:start + size])
        except BaseException:
            journal.end_run(conn, summary, "failed")
            raise
        journal.end_run(conn, summary, "failed" if summary.failed else "succeeded")
        # the answers: a receipt that cannot be written is logged, never undoes the run
        try:
            write_receipts(summary.results, conn)
        except Exception:  # noqa: BLE001 - the data is committed; `lhpn run` names the unanswered
            log.exception("receipts of run %s not written", run_id)
    return summary


def _process_chunk(receiver: Receiver, paths: list[str]) -> None:
    from ingest.validate import run as validate

    run = receiver.run
    clock = time.perf_counter
    seconds = run.summary.seconds
    # 1. receive: wait for young files to settle, archive each byte for byte
    t0 = clock()
    arrived = receiver.receive([Path(local_path(p)) for p in paths])
    # the claim is released at the end of the chunk, also when it fails part-way (a full lock
    # table keeps the locks taken before it, and the run could not even be marked failed)
    try:
        fresh = receiver.claim(arrived)
        seconds["receive"] = seconds.get("receive", 0) + clock() - t0

        # 2. read and normalise, each file in a worker process with limits; meanwhile this
        # process gets validation ready (Great Expectations imported once: seconds of CPU)
        t0 = clock()
        for item, parsed in zip(fresh, parse.parse_all(fresh, idle=validate.warm_up),
                                strict=True):
            item.parsed = parsed
        seconds["read"] = seconds.get("read", 0) + clock() - t0

        # a file that looks cut short and is young is still arriving: left for a later run
        fresh = receiver.defer_fragments(fresh)

        # 3. validate the chunk's files together
        t0 = clock()
        validate.validate([item.parsed for item in fresh], run.conn)
        # a check that could not run is the system's fault: such a file is not judged
        for item in [item for item in fresh if item.parsed.undecided]:
            run.undecided(item)
        fresh = [item for item in fresh if not item.parsed.undecided]
        seconds["validate"] = seconds.get("validate", 0) + clock() - t0

        # 4. load in batches, one transaction each; then clear the inbox
        t0 = clock()
        retry.load_all(receiver, fresh)
        seconds["load"] = seconds.get("load", 0) + clock() - t0
    finally:
        receiver.release()
