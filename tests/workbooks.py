"""Fixture workbooks for the tests, built in code with the same builders as the samples."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from ingest.model import EMULATION, POVERTY, TERM, ParsedFile
from ingest.read.parse import parse_file
from ingest.samples import Report, random_report, write_csv, write_xlsx

__all__ = ["EMULATION", "POVERTY", "TERM", "Report", "drop", "random_report", "report",
           "write_csv", "write_xlsx"]


def report(province_code: str = "60", period: str = "2024", *, seed: int = 1,
           sheets: tuple[str, ...] = (TERM, EMULATION, POVERTY), districts: int = 5,
           **kwargs) -> Report:
    r = random_report(random.Random(seed), province_code, period, sheets=sheets,
                      districts=districts, met=kwargs.pop("met", None))
    for key, value in kwargs.items():
        setattr(r, key, value)
    return r


def drop(inbox: Path, rep: Report, name: str | None = None, **kwargs) -> Path:
    """Write `rep` into the province's inbox folder as an office would."""
    name = name or f"BC_{rep.province_code}_{rep.period}.xlsx"
    path = inbox / rep.province_code / name
    if name.endswith(".csv"):
        return write_csv(rep, path, **kwargs)
    return write_xlsx(rep, path, **kwargs)


def parse_workbook(path: Path, folder: str | None = None) -> ParsedFile:
    """Read `path` as the pipeline's parse step does, named after its folder (the province)
    unless `folder` is given."""
    data = path.read_bytes()
    folder = path.parent.name if folder is None else folder
    parsed = ParsedFile(path, path.name, folder, hashlib.sha256(data).hexdigest(), len(data))
    parse_file(path, data, parsed)
    return parsed
