"""Receipts (contract §3): one answer per dropped file in `outbox/<province_code>/`.

Stub: filled in by issue 11. `write_receipts` is called by the pipeline for every processed
file; `refresh_receipts` rewrites accepted files' receipts with what the marts now hold.
"""

from __future__ import annotations


def write_receipts(results, conn) -> list:
    """Write the receipt of every processed file of a run; return their paths."""
    return []


def refresh_receipts(conn) -> int:
    """Rewrite receipts whose quoted mart figures changed; return how many were rewritten."""
    return 0
