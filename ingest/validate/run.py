"""Validation of a run's parsed files (contract §3): `validate(parsed_files, conn)`.

The steps, each in its module:
1. `frames`    — every sheet kind stacked once for all files of the run;
2. `suites`    — the GX suites (column-level checks), one run per sheet kind;
3. `history`   — one query for the provinces' own history, scored for outliers;
4. `rules`     — the rule table (cross-field, cross-file and history rules);
5. `placement` — every finding placed at (sheet, Excel row, column header, cell as written);
then `report` renders what a clerk reads.

A check that crashes (a GX metric raising, a rule raising, the history query failing) is a
fault of the system, never a verdict on the files: the check is run again file by file, so a
file on which it works gets its real findings, and a file on which it still fails gets a
`SystemFault`. A fault of a check that can reject (an error) leaves the file undecided: the
pipeline neither rejects nor loads it and leaves it in the inbox. A fault of a warning-only
check lets the file be decided without it, and the file's result says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg

from ingest.model import Finding, ParsedFile, SystemFault
from ingest.validate import history as history_step
from ingest.validate import rules as rule_table
from ingest.validate import suites
from ingest.validate.frames import RunFrames
from ingest.validate.suites import CheckResult

log = logging.getLogger(__name__)


def validate(files: list[ParsedFile], conn: psycopg.Connection | None = None) -> None:
    """Append the findings of every check to each file (all files of a run validated together),
    and a `SystemFault` for every check that could not run on a file."""
    if not files:
        return
    try:
        found, faults = _validate(files, conn)
    except Exception as exc:  # noqa: BLE001 - outside any one check: validate file by file
        log.exception("validation of %d files failed as a whole; file by file", len(files))
        if len(files) == 1:
            files[0].faults.append(SystemFault("validate", "validation", _describe(exc), True))
            return
        for parsed in files:
            validate([parsed], conn)
        return
    for f, item in found:
        files[f].findings.append(item)
    for f, fault in faults:
        log.warning("%s: %s %s could not run: %s", files[f].source_file, fault.step,
                    fault.check, fault.message)
        files[f].faults.append(fault)


def fault_note(parsed: ParsedFile) -> str | None:
    """What a file's result says of its faults, in the operator's words (None without any)."""
    if not parsed.faults:
        return None
    checks = "; ".join(f"{f.step} {f.check}: {f.message}" for f in parsed.faults)
    if parsed.undecided:
        return (f"system fault in validation, the file was not judged and stays in the inbox "
                f"for the next run ({checks})")
    return f"validated without checks that could not run (system fault: {checks})"


Found = list[tuple[int, Finding]]
Faults = list[tuple[int, SystemFault]]


def _validate(files: list[ParsedFile], conn) -> tuple[Found, Faults]:
    frames = RunFrames(files)
    found: Found = []
    faults: Faults = []
    for kind in suites.SUITES:
        found += _isolated("suites", frames, faults,
                           lambda fr, checks, kind=kind: suites.run_suite(kind, fr, checks),
                           lambda check, kind=kind: suites.blocking(kind, check))
    frames.note_errors(found)
    try:
        history = history_step.load_history(conn, {f.folder_province for f in files})
    except Exception as exc:  # noqa: BLE001 - the outlier rule cannot run; the others can
        history = history_step.load_history(None, ())
        for rule in rule_table.RULES:
            if rule.scope == rule_table.HISTORY:
                faults += [(f, SystemFault("history", rule.name, _describe(exc),
                                           rule.severity == "error"))
                           for f in range(len(files))]
    for rule in rule_table.RULES:
        found += _isolated("rules", frames, faults, _rule_check(rule, history),
                           lambda _, rule=rule: rule.severity == "error")
    return found, faults


def _rule_check(rule, history) -> Callable[[RunFrames, set[str] | None], CheckResult]:
    def check(frames: RunFrames, _checks) -> CheckResult:
        return CheckResult(findings=rule_table.evaluate_rule(rule, frames, history))
    return check


def _isolated(step: str, frames: RunFrames, faults: Faults,
              check: Callable[[RunFrames, set[str] | None], CheckResult],
              blocking: Callable[[str], bool]) -> Found:
    """Run `check` over the run; what crashes is run again file by file, and what crashes on
    a file alone is that file's fault."""
    try:
        result = check(frames, None)
        again_only: set[str] | None = set(result.crashed) or None
    except Exception as exc:  # noqa: BLE001 - the whole check: run it again file by file
        log.warning("%s crashed on the whole run (%s); file by file", step, _describe(exc))
        result, again_only = CheckResult(crashed={step: _describe(exc)}), None
    if not result.crashed:
        return result.findings
    found = list(result.findings)
    for f in frames.file_ids:
        try:
            alone = check(frames.only({f}), again_only)
        except Exception as exc:  # noqa: BLE001 - this file's fault, reported as a system one
            alone = CheckResult(crashed={c: _describe(exc) for c in (again_only or result.crashed)})
        found += alone.findings
        faults += [(f, SystemFault(step, name, message, blocking(name)))
                   for name, message in alone.crashed.items()]
    return found


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
