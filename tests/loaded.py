"""The loaded warehouse many tests read (fixture `loaded_warehouse` in tests/conftest.py)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import psycopg

TRUNCATE_RAW_AND_AUDIT = (
    "truncate raw.submissions, raw.term_indicators, raw.emulation_scores,"
    " raw.poverty_support, audit.runs, audit.ingest_log, audit.validation_results,"
    " audit.inbox_seen, audit.inbox_unremovable restart identity cascade")

RUN_ID = "test-pages-run"  # the run that loaded the resubmission and built the pages


def load_samples(lhpn_home: Path, warehouse_url: str):
    """Samples (9 provinces, one rejected file), a second version for Quảng Ngãi and a tie in
    the 2024 ranking, loaded by the pipeline; marts built; pages built (dbt docs apart)."""
    from ingest import pipeline, samples
    from ingest.marts.build import refresh_marts
    from ingest.pages.site import build_site
    from ingest.settings import home as get_home

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(TRUNCATE_RAW_AND_AUDIT)
    data_home = get_home()
    for folder in ("inbox", "archive", "quarantine", "reports", "outbox", "site"):
        shutil.rmtree(lhpn_home / folder, ignore_errors=True)
    data_home.ensure()
    old_page = data_home.reports / "docs" / "index.html"  # where the validation page was
    old_page.parent.mkdir(parents=True)
    old_page.write_text("old validation page", encoding="utf-8")
    samples.write_samples(data_home.inbox)
    pipeline.process_files(pipeline.list_inbox(data_home), trigger="test")
    # Quảng Ngãi sends 2024 again: version 2 supersedes version 1
    again = samples.random_report(random.Random(7), "51", "2024")
    samples.write_xlsx(again, data_home.inbox / "51" / "BC_51_nam_2024_sua.xlsx")
    pipeline.process_files(pipeline.list_inbox(data_home), run_id=RUN_ID, trigger="test")
    # the marts these loads made stale, as `lhpn run` builds them (a full build only when they
    # are missing, the project changed or the calendar moved): the same marts as a full build
    # (tests/test_marts_refresh.py), without the data tests an enforced constraint restates
    refresh_marts()
    index = build_site(RUN_ID, dbt_docs_refresh=False)
    assert index == data_home.site / "index.html"
    return data_home


def fingerprint(warehouse_url: str, data_home) -> tuple:
    """What another test would have changed had it loaded other data in between: the files
    received, the runs, the receipts."""
    with psycopg.connect(warehouse_url) as conn:
        submissions = conn.execute(
            "select coalesce(string_agg(concat_ws(':', submission_id, sha256, status), ','"
            " order by submission_id), '') from raw.submissions").fetchone()[0]
        runs = conn.execute("select coalesce(string_agg(run_id, ',' order by run_id), '')"
                            " from audit.runs").fetchone()[0]
    receipts = sorted(str(p.relative_to(data_home.outbox))
                      for p in data_home.outbox.rglob("*.receipt.txt"))
    return submissions, runs, tuple(receipts)
