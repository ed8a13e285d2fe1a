"""One table of labels (ingest/labels.py over the dbt var code_labels): what the marts, pages,
receipts, `lhpn run` and the Airflow log call a code."""

from __future__ import annotations

import re

from ingest import labels
from ingest.airflow import batches
from ingest.settings import dbt_project_dir, project_vars
from ingest.validate.report import outcome_text


def test_every_outcome_has_its_words_in_the_one_table():
    table = project_vars()["code_labels"]
    for code in labels.Outcome:
        texts = table["submission_status"][code.value]
        assert len(texts) in (2, 4) and all(isinstance(t, str) and t for t in texts), code
        entry = labels.outcome(code)
        assert (entry.vi, entry.en) == tuple(texts[:2])


def test_every_code_set_the_marts_label_is_in_the_table():
    used = set()
    for sql in (dbt_project_dir() / "models").rglob("*.sql"):
        used |= set(re.findall(r"label_columns\('\w+', '(\w+)'", sql.read_text("utf-8")))
    assert used and used <= set(labels.table())


def test_each_surface_says_an_outcome_from_the_same_entry():
    rejected = labels.outcome("rejected")
    assert outcome_text("rejected", "vi") == rejected.vi.upper() == "BỊ TỪ CHỐI"
    assert batches._word("rejected") == rejected.short_en == "rejected"
    assert batches._word("failed") == labels.outcome("failed").short_en.upper()
    assert labels.both(labels.CodeSet.INDICATOR_STATUS)["vuot"] == "vượt / exceeded"
    assert labels.label(labels.CodeSet.CLUSTER_ROLE, "truong").short_en == "cluster leader"
