"""Mail to the operators, off unless configured: files that need attention (the Airflow notifier
`ingest.notify`) and provinces late with a report (`ingest.outbox.reminders`, contract §9).

Settings: LHPN_NOTIFY_TO (comma-separated addresses), LHPN_SMTP_HOST, LHPN_SMTP_PORT (default
25), LHPN_SMTP_USER / LHPN_SMTP_PASSWORD (optional, with STARTTLS), LHPN_NOTIFY_FROM (default
lhpn-warehouse@<host>).
"""

from __future__ import annotations

import os
import smtplib
import socket
from email.message import EmailMessage


def smtp_settings() -> dict | None:
    """The SMTP settings, or None when notifications are off (the default)."""
    to = [a.strip() for a in (os.environ.get("LHPN_NOTIFY_TO") or "").split(",") if a.strip()]
    host = (os.environ.get("LHPN_SMTP_HOST") or "").strip()
    if not to or not host:
        return None
    return {"to": to, "host": host, "port": int(os.environ.get("LHPN_SMTP_PORT") or 25),
            "user": os.environ.get("LHPN_SMTP_USER") or None,
            "password": os.environ.get("LHPN_SMTP_PASSWORD") or None,
            "sender": os.environ.get("LHPN_NOTIFY_FROM") or f"lhpn-warehouse@{socket.getfqdn()}"}


def send(subject: str, body: str) -> bool:
    """Send one message; False (and nothing sent) when notifications are off."""
    smtp = smtp_settings()
    if smtp is None:
        return False
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, smtp["sender"], \
        ", ".join(smtp["to"])
    message.set_content(body)
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=30) as server:
        if smtp["user"]:
            server.starttls()
            server.login(smtp["user"], smtp["password"] or "")
        server.send_message(message)
    return True
