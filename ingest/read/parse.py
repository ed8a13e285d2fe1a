"""Parsing a run's files: each one read and normalised (`reader`, `normalise`) in a worker process
with memory and CPU limits (`isolated`), so a file that crashes or exhausts its reader is
rejected alone, with a finding that says so in the clerk's words. Any problem of the input
becomes a finding, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ingest import isolated, settings
from ingest.model import Finding, ParsedFile, file_error
from ingest.read.errors import RESAVE_EN, RESAVE_VI, damaged
from ingest.read.limits import mb, too_large
from ingest.receive.names import display_name

if TYPE_CHECKING:
    from ingest.receive.taking import Received

log = logging.getLogger(__name__)

PARALLEL_MIN_FILES = 64  # below this, one worker process parses the run's files
# the parse workers' scheduling priority below the run's process: on cores they share, what the
# run does meanwhile goes first (a cold `lhpn run` imports Great Expectations: ~1 s of CPU that
# validation waits for) and it collects each result as it comes, while the workers still parse
# (a cold run's read of the bench corpus: 1.77-1.83 s at the same priority, 1.61-1.67 s so);
# every result waits for the run's process anyway
PARSE_NICE = 5


def _parsed(item: Received) -> tuple:
    """What parsing adds to the file's `ParsedFile`, as the worker sends it back: the parent
    holds the rest already (the path, names, hash and size are not pickled back and forth)."""
    parsed = item.parsed
    parse_file(item.path, item.data, parsed)
    return parsed.info, parsed.sheets, parsed.findings, parsed.faults


def parse_all(items: list[Received], idle: Callable[[], None] | None = None) -> list[ParsedFile]:
    """Parse each file in a worker process with memory and CPU limits (`ingest.isolated`):
    a file that crashes or exhausts its worker is rejected alone. A large run is spread over
    several workers (parsing is CPU-bound Python, and each file is independent). `idle` is run
    here while the workers parse (`isolated.run_each`)."""
    from ingest.read.normalise import warm_up

    warm_up()  # the reference data, loaded once here and inherited by every worker
    workers = min(settings.workers(), max(1, len(items) // (PARALLEL_MIN_FILES // 2)))
    seconds = settings.parse_seconds()
    results = isolated.run_each(len(items), lambda i: _parsed(items[i]), workers=workers,
                                memory=settings.parse_memory_bytes(), cpu_seconds=seconds,
                                wall_seconds=2 * seconds + 10, idle=idle, nice=PARSE_NICE)
    parsed = []
    for item, result in zip(items, results, strict=True):
        if isinstance(result, isolated.Failure):
            item.parsed.findings.append(_isolation_finding(result))
        else:
            file = item.parsed
            file.info, file.sheets, file.findings, file.faults = result
        parsed.append(item.parsed)
    return parsed


def _isolation_finding(failure: isolated.Failure) -> Finding:
    if failure.kind == "memory":
        budget = mb(settings.parse_memory_bytes())
        exc = too_large(f"cần hơn {budget} bộ nhớ", f"it needs more than {budget} of memory",
                        rule="too_complex")
        return file_error(exc.rule, exc.message_vi, exc.message_en)
    if failure.kind == "time":
        limit = f"{settings.parse_seconds():.0f}"
        return file_error(
            "too_complex",
            f"Tệp quá phức tạp để đọc: đọc tệp mất hơn {limit} giây. Hãy gửi bảng tính chỉ "
            "gồm các sheet báo cáo.",
            f"The file is too complex to read: reading it takes more than {limit} seconds. "
            "Send a workbook with only the report sheets.")
    log.warning("the reader failed (%s): %s", failure.kind, failure.detail)
    if failure.kind == "crash":
        return file_error(
            "damaged",
            "Tệp bị hỏng hoặc quá phức tạp: chương trình đọc bảng tính dừng lại khi đọc tệp. "
            + RESAVE_VI,
            "The file is damaged or too complex: the spreadsheet reader stopped on it. "
            + RESAVE_EN)
    exc = damaged(failure.detail)
    return file_error(exc.rule, exc.message_vi, exc.message_en)


def parse_file(path: Path, data: bytes, parsed: ParsedFile) -> None:
    """Read and normalise; any problem of the input becomes a finding, never an exception
    (except MemoryError, which the worker reports for its file)."""
    from ingest.read.normalise import parse_workbook
    from ingest.read.reader import UnreadableFile, read_file

    try:
        sheets = read_file(path, data)
        parse_workbook(parsed, sheets)
    except UnreadableFile as exc:
        if exc.detail:
            log.warning("%s cannot be read: %s", parsed.source_file, exc.detail)
        parsed.findings.append(file_error(exc.rule, exc.message_vi, exc.message_en))
    except MemoryError:
        raise
    except RecursionError:
        parsed.findings.append(file_error(
            "too_complex",
            "Tệp quá phức tạp để đọc (cấu trúc lồng nhau quá sâu).",
            "The file is too complex to read (its structure is nested too deeply)."))
    except Exception as exc:  # noqa: BLE001 - a workbook shaped like nothing we expect
        log.warning("%s cannot be read: %s", parsed.source_file,
                    display_name(f"{type(exc).__name__}: {exc}")[:300])
        unreadable = damaged()
        parsed.findings.append(file_error(unreadable.rule, unreadable.message_vi,
                                          unreadable.message_en))
