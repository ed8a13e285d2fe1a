"""The one exception a reader raises for bad input: it carries the clerk's message."""

from __future__ import annotations


class UnreadableFile(Exception):
    """The file cannot be read as a report. Carries the message for the clerk in both languages."""

    def __init__(self, message_vi: str, message_en: str, rule: str = "unreadable"):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.rule = rule
