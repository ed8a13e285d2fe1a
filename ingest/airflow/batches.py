"""The Airflow ingest path: the inbox in batches, each file's outcome in the grid and the log.

`lhpn run` processes a run's files together (Great Expectations once, one history query, COPY in
batches, parallel parsing). The DAG `lhpn_ingest` does the same per batch: `inbox_batches()`
splits the inbox into a few batches, and each mapped task calls `process_batch()`, which is one
`ingest.pipeline.process_files` call. So every file is still visible:

- the task's label lists each file with its outcome (`37/BC_37_nam_2024.xlsx: rejected`), or, for
  a large batch, the counts and the files that need a look;
- the first lines of the task's log give each file's verdict, problems first, with its errors
  and warnings placed as in the report (sheet, row, column, value);
- `run_summary()` lists the run's files by outcome.

Rejections are data: a batch task fails only when the system failed for one of its files.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

log = logging.getLogger(__name__)

# Batches of one Airflow run that process at the same time (max_active_tis_per_dagrun of the
# DAG's mapped task): a small run gets one batch per file up to this many; a burst is cut into
# this many batches, so each pays the task start-up once and parses its files in parallel.
CONCURRENT_BATCHES = 2
# A batch never holds more files than this; a bigger burst gets more batches.
BATCH_MAX_FILES = 500
# A mapped task's label stays short: the grid's breadcrumb shows it whole (Airflow would keep
# 250 characters); the run's `files_need_attention` task and the log name every file.
LABEL_MAX = 60
# Findings quoted per file in the task log (the report in quarantine/ or reports/ has them all).
FINDINGS_PER_FILE = 5


def _word(event: str) -> str:
    """An outcome as the grid and the log name it (ingest.labels); a system failure shouts."""
    from ingest.labels import OUTCOMES, outcome

    if event not in OUTCOMES:
        return event
    word = outcome(event).short_en
    return word.upper() if event == "failed" else word


# The order an operator reads a batch in: what needs a look first.
PROBLEMS_FIRST = ("failed", "refused", "rejected", "accepted_with_warnings", "deferred",
                  "duplicate", "accepted")
# Library loggers that fill a task log with lines nobody acts on: Great Expectations logs ~200
# "Skipping registering function ..." lines at INFO when it is imported, and its analytics
# client (posthog) talks at INFO too.
NOISY_LOGGERS = ("great_expectations", "posthog")


def plan_batches(paths: list[str], *, concurrent: int = CONCURRENT_BATCHES,
                 max_files: int = BATCH_MAX_FILES) -> list[list[str]]:
    """Cut the inbox (in path order: province folder, then name) into even, contiguous batches."""
    if not paths:
        return []
    count = max(min(concurrent, len(paths)), math.ceil(len(paths) / max_files))
    size = math.ceil(len(paths) / count)
    return [paths[start:start + size] for start in range(0, len(paths), size)]


def inbox_batches() -> list[list[str]]:
    """The files waiting in the inbox, in batches for `process_batch` (which waits for young
    files to settle, as `lhpn run` does)."""
    from ingest.pipeline import list_inbox

    return plan_batches(list_inbox())


def pipeline_run_id(airflow_run_id: str, map_index: int, try_number: int) -> str:
    """The `audit.runs` id of one try of one batch: a retry is a new pipeline run."""
    return f"{airflow_run_id}:{map_index}:{try_number}"


def where(path: str) -> str:
    """`<province_code>/<file>`, as the grid and the log name a file (printable, whatever bytes
    the name holds)."""
    from ingest.receive.names import display_name, local_path

    return "/".join(display_name(part) for part in Path(local_path(path)).parts[-2:])


def quiet_libraries() -> None:
    """Keep library chatter out of the task log (a normal file's log fits on one screen)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _by_outcome(results: list[dict]) -> list[dict]:
    rank = {event: i for i, event in enumerate(PROBLEMS_FIRST)}
    return sorted(results, key=lambda r: (rank.get(r["event"], 0), where(r["path"])))


def _fit(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[:LABEL_MAX - 1] + "…"


def batch_label(paths: list[str], results: list[dict] | None = None) -> str:
    """The mapped task's label: each file with its outcome, or counts and the files to look at.

    Before the files are processed (`results` None) it names the files only.
    """
    if results is None:
        if len(paths) == 1:
            return where(paths[0])
        return _fit(f"{len(paths)} files: {where(paths[0])} … {where(paths[-1])}")
    ordered = _by_outcome(results)
    each = " · ".join(f"{where(r['path'])}: {_word(r['event'])}"
                      for r in ordered)
    if len(each) <= LABEL_MAX:
        return each
    counts = _counts(results)
    return _fit(f"{len(results)} files: " + ", ".join(
        f"{n} {_word(event)}" for event, n in counts.items()))


def _counts(results: list[dict]) -> dict[str, int]:
    counts = {event: 0 for event in PROBLEMS_FIRST}
    for r in results:
        counts[r["event"]] = counts.get(r["event"], 0) + 1
    return {event: n for event, n in counts.items() if n}


def _place(finding: dict) -> str:
    """A finding of `file_findings` on one line, placed as the report places it."""
    from ingest.model import Finding
    from ingest.validate.report import finding_line

    return finding_line(Finding(
        rule=finding["rule"], severity=finding["severity"], message_vi="",
        message_en=finding["message_en"], sheet=finding["sheet"],
        excel_row=finding["excel_row"], column=finding["column_header"],
        value=finding["value"]))


def verdict_lines(results: list[dict], findings: dict[int, list[dict]]) -> list[str]:
    """What the task log starts with: one verdict per file (problems first) and its findings."""
    from ingest.formats import run_details

    lines = []
    if len(results) > 1:
        lines.append(f"{len(results)} files: " + ", ".join(
            f"{n} {_word(event)}" for event, n in _counts(results).items()))
    for r in _by_outcome(results):
        text = run_details(r, "en")
        lines.append(f"{_word(r['event']).upper()} {where(r['path'])}"
                     + (f" ({text})" if text else ""))
        quoted = findings.get(r.get("submission_id") or -1, [])
        for finding in quoted[:FINDINGS_PER_FILE]:
            lines.append(f"    {finding['severity']}: {_place(finding)}")
        if len(quoted) > FINDINGS_PER_FILE:
            lines.append(f"    … {len(quoted) - FINDINGS_PER_FILE} more")
        if quoted and r.get("report"):
            lines.append(f"    report: {r['report']}")
    return lines


def _findings(submission_ids: list[int]) -> dict[int, list[dict]]:
    if not submission_ids:
        return {}
    import psycopg
    from psycopg.rows import dict_row

    from ingest import warehouse

    found: dict[int, list[dict]] = {}
    with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as conn, \
            conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(warehouse.query("file_findings"),
                               {"submission_ids": submission_ids}):
            found.setdefault(row["submission_id"], []).append(row)
    return found


def process_batch(paths: list[str], run_id: str) -> dict:
    """Process one batch with `process_files`; log each file's verdict first; return the run
    summary with `label` and `lines` added. Raises nothing for bad files."""
    quiet_libraries()
    from ingest.pipeline import process_files

    summary = process_files(paths, run_id=run_id, trigger="airflow").as_dict()
    results = summary["results"]
    problem_ids = [r["submission_id"] for r in results
                   if r.get("submission_id") and (r.get("errors") or r.get("warnings"))]
    summary["lines"] = verdict_lines(results, _findings(problem_ids))
    kept = [where(r["path"]) for r in results if r.get("kept_in_inbox")]
    if kept or summary["skipped"]:
        summary["lines"].append(
            f"the inbox does not let {len(kept)} processed file(s) be removed"
            + (f" ({', '.join(kept[:10])})" if kept else "")
            + f"; {summary['skipped']} processed earlier skipped (remove them by hand)")
    if summary["died"]:
        summary["lines"].append(f"earlier run(s) found dead, marked died: "
                                f"{', '.join(summary['died'])}")
    summary["label"] = batch_label(paths, results)
    for line in summary["lines"]:
        log.info("%s", line)
    return summary


def system_failure(summary: dict) -> str | None:
    """Why the batch must fail (and be retried), when the system failed for some of its files."""
    failed = [r for r in summary["results"] if r["event"] == "failed"]
    if not failed:
        return None
    return (f"system failure for {len(failed)} file(s), left in the inbox for the retry: "
            + "; ".join(f"{where(r['path'])}: {r.get('message')}" for r in failed))


def airflow_run_totals(airflow_run_id: str) -> dict:
    """What every batch and try of one Airflow run did, read from `audit.runs` (so a batch that
    failed after loading some files still counts them)."""
    import psycopg
    from psycopg.rows import dict_row

    from ingest import warehouse

    with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as conn, \
            conn.cursor(row_factory=dict_row) as cur:
        totals = cur.execute(warehouse.query("airflow_run_totals"),
                             {"prefix": f"{airflow_run_id}:"}).fetchone()
    totals["changed"] = totals["accepted"] > 0
    # a processed file changes what status, pages and receipts say, even when it was rejected
    totals["processed"] = totals["accepted"] + totals["rejected"] + totals["duplicates"]
    return totals


def run_summary(summaries: list[dict], inbox_files: int) -> dict:
    """The run's files by outcome (from the batches that finished) and its totals."""
    files: dict[str, list[str]] = {_word(event): [] for event in PROBLEMS_FIRST}
    seconds: dict[str, float] = {}
    for summary in summaries:
        for r in summary.get("results", []):
            files.setdefault(_word(r["event"]), []).append(where(r["path"]))
        for step, value in (summary.get("seconds") or {}).items():
            seconds[step] = round(seconds.get(step, 0) + value, 2)
    files = {word: sorted(names) for word, names in files.items() if names}
    totals = {"inbox_files": inbox_files, "batches": len(summaries),
              **{word: len(names) for word, names in files.items()},
              "changed": any(s.get("changed") for s in summaries), "seconds": seconds}
    lines = [f"lhpn_ingest run: {inbox_files} file(s) in {len(summaries)} batch(es): "
             + (", ".join(f"{len(n)} {w}" for w, n in files.items()) or "nothing to do")]
    for word, names in files.items():
        lines.append(f"{word} ({len(names)}):")
        lines += [f"    {name}" for name in names]
    for line in lines:
        log.info("%s", line)
    return {**totals, "files": files}


# what an operator must look at after a run: the clerk was told, but someone may need to help
ATTENTION = ("failed", "refused", "rejected")


def attention_message(summary: dict) -> str | None:
    """The files of a run that need attention (rejected, refused, failed), one per line, or None.
    `summary` is what `run_summary` returned."""
    files = summary.get("files") or {}
    lines = [f"{name}: {_word(event)}" for event in ATTENTION
             for name in files.get(_word(event), [])]
    if not lines:
        return None
    return (f"{len(lines)} tệp cần xem / file(s) need attention (the receipts in the outbox "
            "tell each province what to fix):\n" + "\n".join(f"  {line}" for line in lines))
