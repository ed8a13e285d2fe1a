"""What a rejected or flagged file leaves for its sender besides the receipt: the quarantine copy
with its `<name>.errors.txt`, and the `<name>.warnings.txt` of a file loaded with warnings.

`quarantine/<province_code>/` and `reports/<province_code>/` (a file from no province folder:
`_khong_ro_tinh/`); every write is atomic and refuses symbolic links (`ingest.receive.archive`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.receive import archive
from ingest.receive.names import sidecar_name
from ingest.settings import Home

if TYPE_CHECKING:
    from ingest.receive.taking import Received


def quarantine(data_home: Home, item: Received, report_text: str) -> Path:
    """The rejected file's copy and its report, side by side, each written atomically. The copy
    keeps the name it came with (bytes and all); the report's name fits the file system."""
    folder = archive.safe_folder(data_home.quarantine / folder_name(item.parsed.folder_province))
    target = folder / sidecar_name(item.path.name, "")
    if os.path.lexists(target) and (not target.is_file() or target.read_bytes() != item.data):
        target = archive.free_name(folder, item.path.name, item.parsed.sha256[:8])
    archive.write_bytes_atomic(target, item.data)
    return errors_report(target, report_text)


def errors_report(beside: Path, report_text: str) -> Path:
    """`<name>.errors.txt` beside a file (or folder) set aside in the quarantine."""
    return archive.write_text_atomic(beside.with_name(sidecar_name(beside.name, ".errors.txt")),
                                     report_text)


def warnings_report(data_home: Home, item: Received, report_text: str) -> Path:
    folder = archive.safe_folder(data_home.reports / folder_name(item.parsed.folder_province))
    return archive.write_text_atomic(folder / sidecar_name(item.path.name, ".warnings.txt"),
                                     report_text)


def folder_name(province: str) -> str:
    """The sender's folder in the quarantine and reports (`_khong_ro_tinh` for no province)."""
    return sidecar_name(province, "") if province and province not in (".", "..") \
        else "_khong_ro_tinh"
