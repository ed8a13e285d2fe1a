"""File names the warehouse writes for a dropped file (receipts, reports): always a name the
filesystem accepts, readable, and distinct for distinct originals.

A name is at most 255 bytes on common filesystems (ext4, NTFS via SMB, APFS). A dropped name
already fits, but `<name>.receipt.txt` may not; a long name keeps its start and its extension
and gets a short hash of the whole original, so two long names never share a receipt.
"""

from __future__ import annotations

import hashlib
import os
import re

NAME_MAX_BYTES = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")  # control characters and path separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HASH_CHARS = 8


def _utf8(text: str) -> str:
    """Valid UTF-8 text: undecodable bytes of a file name (surrogate escapes) become U+FFFD."""
    return os.fsencode(text).decode("utf-8", "replace") if _has_surrogates(text) else text


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _cut(text: str, max_bytes: int) -> str:
    """The longest start of `text` within `max_bytes` of UTF-8, never splitting a character."""
    return text.encode("utf-8")[:max(max_bytes, 0)].decode("utf-8", "ignore")


def printable(name: str) -> str:
    """A file name as text to show a person: valid UTF-8, no control characters (a name
    with a line break cannot forge a line of a receipt)."""
    return _CONTROL.sub("\ufffd", _utf8(name))


def safe_file_name(name: str, suffix: str = "", *, max_bytes: int = NAME_MAX_BYTES) -> str:
    """`name + suffix` as a safe single file name of at most `max_bytes` bytes of UTF-8.

    Control characters and path separators become `_`; an empty name or a dot-only name
    becomes `_`; a name too long keeps its beginning and extension and gains `~<hash>`.
    """
    clean = _UNSAFE.sub("_", _utf8(name)).strip() or "_"
    if set(clean) == {"."}:
        clean = "_"
    whole = clean + suffix
    if len(whole.encode("utf-8")) <= max_bytes:
        return whole
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:_HASH_CHARS]
    stem, ext = os.path.splitext(clean)
    if len(ext.encode("utf-8")) > 16:  # not an extension, just a dot in a long name
        stem, ext = clean, ""
    tail = f"~{digest}{ext}{suffix}"
    return _cut(stem, max_bytes - len(tail.encode("utf-8"))) + tail
