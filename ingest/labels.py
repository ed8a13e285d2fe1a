"""The words for every code, in Vietnamese and English: one table, the var `code_labels` of
dbt_project.yml, which the marts' `<column>_label_vi / _label_en` columns (macro label_columns)
and every text printed here (pages, receipts, `lhpn run`, the Airflow log) read.

Each entry is the label a mart shows (`Bị từ chối` / `Rejected`) and the short form running
text uses (`từ chối / rejected`); receipts print an outcome's label in capitals.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from ingest.settings import project_vars


class CodeSet(StrEnum):
    """The sets of codes the table labels (keys of `code_labels`)."""

    OUTCOME = "submission_status"
    INDICATOR_STATUS = "indicator_status"
    CLUSTER_ROLE = "cluster_role"
    PERIOD_KIND = "period_kind"
    SEVERITY = "severity"


class Outcome(StrEnum):
    """What happened to a file, and a submission's status in the marts."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    DEFERRED = "deferred"
    FAILED = "failed"
    REFUSED = "refused"
    SUPERSEDED = "superseded"
    MISSING = "missing"
    NOT_DUE = "not_due"


OUTCOMES = frozenset(Outcome)  # `"rejected" in OUTCOMES` (Python 3.11's enums refuse `in`)
LOADED = (Outcome.ACCEPTED, Outcome.ACCEPTED_WITH_WARNINGS)  # a file that became a version


@dataclass(frozen=True)
class Label:
    vi: str
    en: str
    short_vi: str
    short_en: str

    @property
    def both(self) -> str:
        """`từ chối / rejected`: the short forms, Vietnamese first."""
        return f"{self.short_vi} / {self.short_en}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@cache
def table() -> dict[str, dict[str, Label]]:
    labels: dict[str, dict[str, Label]] = {}
    for code_set, codes in project_vars()["code_labels"].items():
        labels[code_set] = {}
        for code, texts in codes.items():
            vi, en, *short = texts
            short_vi, short_en = short or (_lower_first(vi), _lower_first(en))
            labels[code_set][str(code)] = Label(vi, en, short_vi, short_en)
    return labels


def label(code_set: str, code: str) -> Label:
    return table()[code_set][code]


def outcome(code: str) -> Label:
    return label(CodeSet.OUTCOME, code)


def both(code_set: str) -> dict[str, str]:
    """Every code of a set with its short forms, `vi / en` (the pages' tables and tooltips)."""
    return {code: entry.both for code, entry in table()[code_set].items()}
