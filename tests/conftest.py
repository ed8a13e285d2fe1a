"""Shared fixtures: one embedded PostgreSQL for the whole session, a clean warehouse per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "contract"


@pytest.fixture(scope="session")
def lhpn_home(tmp_path_factory) -> Iterator[Path]:
    """A data home for the test session, with its embedded PostgreSQL (started once)."""
    root = tmp_path_factory.mktemp("home")
    os.environ["LHPN_HOME"] = str(root)
    os.environ.pop("LHPN_INBOX", None)
    os.environ.pop("LHPN_WAREHOUSE_URL", None)
    os.environ["LHPN_SETTLE_SECONDS"] = "0"
    yield root
    from ingest import warehouse
    from ingest.settings import Home

    # the server outlives CLI calls by design, but not the test session
    warehouse.stop_embedded(Home(root, root / "inbox", root / "outbox"))


@pytest.fixture(scope="session")
def warehouse_url(lhpn_home) -> str:
    from ingest import warehouse

    return warehouse.warehouse_url()


@pytest.fixture
def home(lhpn_home, warehouse_url):
    """A clean data home and warehouse: empty folders, empty raw and audit tables."""
    from ingest.settings import home as get_home

    data_home = get_home()
    for folder in ("inbox", "archive", "quarantine", "reports", "outbox"):
        shutil.rmtree(lhpn_home / folder, ignore_errors=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        conn.execute(
            "truncate raw.submissions, raw.term_indicators, raw.emulation_scores,"
            " raw.poverty_support, audit.runs, audit.ingest_log, audit.validation_results,"
            " audit.inbox_seen, audit.inbox_unremovable restart identity cascade"
        )
    return data_home.ensure()


@pytest.fixture
def db(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def refuse_loading(monkeypatch):
    """`refuse_loading(name)`: from now on the database refuses every load batch that holds the
    file `name` (as it would a value out of range); the other files load. Returns the real
    `load_batch`, to put back."""
    from ingest.load import submissions

    real = submissions.load_batch

    def refuse(name: str):
        def refusing(conn, batch, run_id):
            if any(b.parsed.source_file == name for b in batch):
                raise psycopg.errors.DataException("simulated: value out of range")
            return real(conn, batch, run_id)

        monkeypatch.setattr(submissions, "load_batch", refusing)
        return real

    return refuse


@pytest.fixture
def fake_smtp(monkeypatch) -> list[tuple]:
    """Mail to the operators goes to a list instead of an SMTP server: ("connect", host, port)
    and ("message", to, subject, body) entries. The settings that switch mail on are cleared."""
    from ingest.outbox import mail

    sent: list[tuple] = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(("message", message["To"], message["Subject"], message.get_content()))

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    for name in ("LHPN_NOTIFY_TO", "LHPN_SMTP_HOST", "LHPN_SMTP_USER"):
        monkeypatch.delenv(name, raising=False)
    return sent
