"""Vietnam time as the project prints it (receipts, pages): the clerks' clock
(`settings.LOCAL_TIME`), written dd/mm/yyyy hh:mm."""

from __future__ import annotations

from datetime import date, datetime

from ingest.settings import LOCAL_TIME as VIETNAM  # the time zone, decided in settings


def now() -> datetime:
    return datetime.now(VIETNAM)


def local_time(value) -> str:
    """A timestamp in Vietnam time (dd/mm/yyyy hh:mm), a date as dd/mm/yyyy; "" for None.
    A naive timestamp is taken as already local."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(VIETNAM)
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)
