"""The poison-file policy: a file whose processing fails the same way `LHPN_POISON_FAILURES`
times (counted in `audit.ingest_log` by content, see `Journal.failures`) is set aside in the
quarantine with a report, instead of failing every run.
"""

from __future__ import annotations

from ingest import settings
from ingest.model import Finding, file_error


def set_aside(failures: int) -> bool:
    """This failure, after `failures` earlier ones the same way, is one too many."""
    return failures + 1 >= settings.poison_failures()


def poisoned(message: str) -> Finding:
    times = settings.poison_failures()
    return file_error(
        "system_failure",
        f"Hệ thống không xử lý được tệp này sau {times} lần thử ({message}); tệp đã được để "
        "riêng để không chặn các tệp khác. Người vận hành đã được báo; hãy liên hệ nếu cần "
        "gửi lại.",
        f"The system failed to process this file {times} times ({message}); it has been set "
        "aside so it does not hold up other files. The operator has been told; get in touch "
        "if it needs to be sent again.")
