"""The one exception a reader raises for bad input: it carries the clerk's message.

A clerk cannot act on a library's words ("Cannot detect file format"): the message says in her
words what is wrong and what to do; what the library said goes to `detail`, for the operator's log.
"""

from __future__ import annotations

# what a clerk does with a file the warehouse cannot read (contract §3)
RESAVE_VI = ("Hãy mở tệp bằng Excel hoặc LibreOffice, chọn Lưu thành (Save As) kiểu "
             "\"Excel Workbook (.xlsx)\", rồi gửi lại tệp vừa lưu.")
RESAVE_EN = ("Open the file in Excel or LibreOffice, use Save As with the type "
             "\"Excel Workbook (.xlsx)\", and send the saved file again.")


class UnreadableFile(Exception):
    """The file cannot be read as a report. Carries the message for the clerk in both languages;
    `detail` is what a library said, for the operator only."""

    def __init__(self, message_vi: str, message_en: str, rule: str = "unreadable",
                 detail: str | None = None):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.rule = rule
        self.detail = detail


def damaged(detail: str | None = None, rule: str = "unreadable") -> UnreadableFile:
    """A spreadsheet whose content cannot be read (damaged, cut short, or another format)."""
    return UnreadableFile(
        "Không đọc được bảng tính: tệp bị hỏng, bị cắt dở khi sao chép, hoặc không phải là "
        "bảng tính. " + RESAVE_VI,
        "The workbook cannot be read: the file is damaged, was cut short while copied, or is "
        "not a spreadsheet. " + RESAVE_EN,
        rule=rule, detail=detail)
