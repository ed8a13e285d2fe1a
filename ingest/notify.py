"""An optional e-mail when files need attention (rejected, refused, failed): Airflow's notifier
interface, sent over SMTP. Off unless LHPN_NOTIFY_TO and LHPN_SMTP_HOST are set.

Settings: LHPN_NOTIFY_TO (comma-separated addresses), LHPN_SMTP_HOST, LHPN_SMTP_PORT (default
25), LHPN_SMTP_USER / LHPN_SMTP_PASSWORD (optional, with STARTTLS), LHPN_NOTIFY_FROM (default
lhpn-warehouse@<host>). The message is the one the `files_need_attention` task fails with.
The mail itself is `ingest.outbox.mail` (the reminders use it too, without Airflow).
"""

from __future__ import annotations

import logging

from airflow.sdk.bases.notifier import BaseNotifier

from ingest.outbox.mail import send, smtp_settings

log = logging.getLogger(__name__)


class FilesNeedAttentionNotifier(BaseNotifier):
    """on_failure_callback of `files_need_attention`: mails what its failure says."""

    def notify(self, context) -> None:
        exception = context.get("exception")
        run_id = context.get("run_id") or ""
        body = f"{exception}\n\nAirflow run: {run_id}\n"
        if send(f"[lhpn] Tệp cần xem / files need attention: {run_id}", body):
            log.info("notified %s", ", ".join(smtp_settings()["to"]))
