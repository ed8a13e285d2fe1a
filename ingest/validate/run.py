"""Validation of a run's parsed files (contract §3): `validate(parsed_files, conn)`.

The steps, each in its module:
1. `frames`    — every sheet kind stacked once for all files of the run;
2. `suites`    — the GX suites (every rule GX can state), one run per sheet kind (a large
                 run's GiamNgheo and ThiDua suites in a second process meanwhile);
3. `history`   — one query for the provinces' own history, scored for outliers;
4. `rules`     — the rule table (period in term, total row against the sum, history);
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

from ingest import isolated
from ingest.model import EMULATION, POVERTY, Finding, ParsedFile, SystemFault
from ingest.validate import history as history_step
from ingest.validate import rules as rule_table
from ingest.validate import suites
from ingest.validate.frames import RunFrames
from ingest.validate.placement import severity
from ingest.validate.suites import CheckResult

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Get validation ready in this process (Great Expectations imported, its context and
    suites built: seconds of CPU, paid once per process), e.g. while the parse workers run.
    A failure here is left to `validate`, which says so for each file it could not check."""
    try:
        suites.engine()
    except Exception:  # noqa: BLE001 - seen again, and reported, when validation runs
        log.debug("validation warm-up failed; validate will report it", exc_info=True)


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
    faults: Faults = []
    checked = CheckResult()
    for result, its_faults in _suites(frames):
        checked.add(result)
        faults += its_faults
    # the cells an error names silence what only repeats that mistake (one mistake, one finding)
    found = checked.findings
    frames.note_errors(found)
    found += [(f, item) for f, item, (kind, row, columns) in checked.unless_broken
              if not frames.is_broken(f, kind, row, columns)]
    try:
        history = history_step.load_history(conn, {f.folder_province for f in files})
    except Exception as exc:  # noqa: BLE001 - the outlier rule cannot run; the others can
        history = history_step.load_history(None, ())
        for rule in rule_table.RULES:
            if rule.scope == rule_table.HISTORY:
                faults += [(f, SystemFault("history", rule.name, _describe(exc),
                                           severity(rule.severity) == "error"))
                           for f in range(len(files))]
    for rule in rule_table.RULES:
        found += _isolated("rules", frames, faults, _rule_check(rule, history),
                           lambda _, rule=rule: severity(rule.severity) == "error").findings
    try:
        found += dropped_figures(files, conn)
    except Exception as exc:  # noqa: BLE001 - a check that can reject could not run
        faults += [(f, SystemFault("versions", "drops_figures", _describe(exc), True))
                   for f in range(len(files))]
    return found, faults


# the suites a second process runs while this one runs the others (a large run's validation is
# mostly the suites, each single-threaded: GiamNgheo's and ThiDua's ~half of their CPU)
ASIDE = (EMULATION, POVERTY)


def _suite(kind: str, frames: RunFrames) -> tuple[CheckResult, Faults]:
    faults: Faults = []
    result = _isolated("suites", frames, faults,
                       lambda fr, checks: suites.run_suite(kind, fr, checks),
                       lambda check: suites.blocking(kind, check))
    return result, faults


def _suites(frames: RunFrames) -> list[tuple[CheckResult, Faults]]:
    """Every suite's result and faults, in `suites.SUITES` order. A large run on several cores
    runs the `ASIDE` suites in a forked process meanwhile (`isolated.beside`: it inherits the
    frames and Great Expectations as they are here)."""
    kinds = list(suites.SUITES)
    aside = [k for k in kinds if k in ASIDE] if isolated.worth_beside(len(frames.file_ids)) \
        else []
    done: dict[str, tuple[CheckResult, Faults]] = {}

    def run_here() -> None:
        for kind in kinds:
            if kind not in aside:
                done[kind] = _suite(kind, frames)

    if aside:
        frames.prepare()  # what both processes read, built once, before the fork
        _, result = isolated.beside(run_here, lambda: [_suite(kind, frames) for kind in aside],
                                    "the suites " + ", ".join(aside))
        done |= dict(zip(aside, result, strict=True))
    else:
        run_here()
    return [done[kind] for kind in kinds]


def dropped_figures(files: list[ParsedFile], conn) -> Found:
    """A new version must not replace figures with NULLs: a file whose sheet holds no figure
    where the version in use for its province and period has some is rejected (error
    `drops_figures`), the version in use stays. A file without any figure is already
    rejected as empty (`no_figures`)."""
    from ingest.periods import parse_period
    from ingest.read.layout import SHEETS
    from ingest.read.normalise import figures_in
    from ingest.warehouse import query

    wanted = {}
    for i, parsed in enumerate(files):
        period = parse_period(parsed.info.period) if parsed.info.period else None
        if period and parsed.folder_province and not any(
                f.rule == "no_figures" for f in parsed.findings):
            wanted[i] = (parsed.folder_province, period.code)
    if conn is None or not wanted:
        return []
    pairs = sorted(set(wanted.values()))
    with conn.cursor() as cur:
        cur.execute(query("current_figures"), {"province_code": [p for p, _ in pairs],
                                               "period": [q for _, q in pairs]})
        columns = [c.name for c in cur.description]
        current = {(r["province_code"], r["period"]): r
                   for r in (dict(zip(columns, row, strict=True)) for row in cur)}
    found: Found = []
    for i, key in wanted.items():
        row = current.get(key)
        if row is None:
            continue
        lost = [kind for kind in SHEETS if row[kind] and kind not in figures_in(files[i])]
        if not lost:
            continue
        names = ", ".join(SHEETS[kind].sheet_name for kind in lost)
        found.append((i, Finding(
            rule="drops_figures", severity="error",
            message_vi=f"Phiên bản {row['version']} đang dùng của kỳ {key[1]} có số liệu ở "
                       f"sheet {names}, bản này thì không: nếu nhận, các số liệu đó sẽ bị xóa. "
                       "Bản mới thay toàn bộ bản cũ, nên hãy gửi lại báo cáo đủ các sheet (cả "
                       "những số liệu không đổi). Phiên bản đang dùng được giữ nguyên.",
            message_en=f"Version {row['version']} in use for {key[1]} has figures in the "
                       f"sheet(s) {names}; this file has none there: taking it would erase "
                       "them. A new version replaces the old one as a whole, so send the "
                       "report again with every sheet (the unchanged figures too). The version "
                       "in use is kept.",
            expected_vi=f"số liệu ở sheet {names}", expected_en=f"figures in {names}")))
    return found


def _rule_check(rule, history) -> Callable[[RunFrames, set[str] | None], CheckResult]:
    def check(frames: RunFrames, _checks) -> CheckResult:
        return CheckResult(findings=rule_table.evaluate_rule(rule, frames, history))
    return check


def _isolated(step: str, frames: RunFrames, faults: Faults,
              check: Callable[[RunFrames, set[str] | None], CheckResult],
              blocking: Callable[[str], bool]) -> CheckResult:
    """Run `check` over the run; what crashes is run again file by file, and what crashes on
    a file alone is that file's fault. The one path of a check that could not run: a GX
    expectation whose metric raised and a rule that raised both come here."""
    try:
        result = check(frames, None)
        again_only: set[str] | None = set(result.crashed) or None
    except Exception as exc:  # noqa: BLE001 - the whole check: run it again file by file
        log.warning("%s crashed on the whole run (%s); file by file", step, _describe(exc))
        result, again_only = CheckResult(crashed={step: _describe(exc)}), None
    if not result.crashed:
        return result
    found = CheckResult(list(result.findings), list(result.unless_broken))
    for f in frames.file_ids:
        try:
            alone = check(frames.only({f}), again_only)
        except Exception as exc:  # noqa: BLE001 - this file's fault, reported as a system one
            alone = CheckResult(crashed={c: _describe(exc) for c in (again_only or result.crashed)})
        faults += [(f, SystemFault(step, name, message, blocking(name)))
                   for name, message in alone.crashed.items()]
        alone.crashed = {}
        found.add(alone)
    return found


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
