"""File names as senders write them: shown safely, and reports named so they fit the filesystem.

A name in the inbox may hold bytes that are not UTF-8, control characters, a newline, or be
255 bytes long already. The name itself is never changed on disk (the quarantine copy keeps the
bytes it came with); what is printed, stored in the database or used to name a report is derived
here.
"""

from __future__ import annotations

import base64
import hashlib
import os

NAME_MAX = 255  # bytes, the limit of ext4, xfs, btrfs, tmpfs and NTFS (in UTF-16 units) alike


def display_name(name: str) -> str:
    """The name as text that is safe to print and to store: undecodable bytes become `\\xNN`,
    control and invisible format characters (newline, ESC, NUL, RTL override) their escapes."""
    raw = os.fsencode(name)
    text = raw.decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def fits(name: str) -> bool:
    return len(os.fsencode(name)) <= NAME_MAX


def sidecar_name(name: str, suffix: str) -> str:
    """`<name><suffix>` (e.g. `BC.xlsx.errors.txt`), shortened when that would not fit in
    NAME_MAX bytes: the name is cut on a character boundary and a short hash of the whole name
    keeps two long names that share a beginning apart (`BC…~1a2b3c4d.errors.txt`)."""
    wanted = name + suffix
    if fits(wanted):
        return wanted
    tag = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
    room = NAME_MAX - len(os.fsencode(tag + suffix)) - len("…".encode())
    return _cut(name, room) + "…" + tag + suffix


def _cut(name: str, room: int) -> str:
    """The longest start of `name` that takes at most `room` bytes, cut between characters."""
    out = []
    used = 0
    for ch in name:
        size = len(os.fsencode(ch))
        if used + size > room:
            break
        out.append(ch)
        used += size
    return "".join(out)



# Paths travel as JSON through Airflow (XCom, asset events) and PostgreSQL, which take only valid
# Unicode. A path whose bytes are not UTF-8 travels as this prefix + its bytes in base64.
_PORTABLE = "lhpn-fsbytes:"


def portable_path(path: str) -> str:
    """`path` as text any JSON store accepts; `local_path` gives the path back."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return _PORTABLE + base64.urlsafe_b64encode(os.fsencode(path)).decode("ascii")
    return path


def local_path(text: str) -> str:
    """The file-system path of a `portable_path` (any other path unchanged)."""
    if text.startswith(_PORTABLE):
        return os.fsdecode(base64.urlsafe_b64decode(text[len(_PORTABLE):]))
    return text
