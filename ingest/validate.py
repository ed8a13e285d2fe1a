"""Validation of parsed files (contract §3). Placeholder until the rule module lands."""

from __future__ import annotations

import psycopg

from ingest.model import ParsedFile


def validate(files: list[ParsedFile], conn: psycopg.Connection | None = None) -> None:
    """Append the findings of every rule to each file (all files of a run validated together)."""
