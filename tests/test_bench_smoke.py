"""Smoke test of the benchmark harness: the corpus generator and the `--quick` path (no dbt).

The benchmark measures; it asserts no times. This only checks that it runs and reports.
"""

from __future__ import annotations

import json

import pytest

from tests.bench import corpus as bench_corpus
from tests.bench import run as bench_run


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-cache")


@pytest.mark.slow
def test_quick_corpus_is_deterministic_and_complete(cache):
    assert bench_corpus._plan(7, True) == bench_corpus._plan(7, True)
    c = bench_corpus.build_corpus(cache, seed=7, quick=True, scale=1, workers=1)
    assert len(c.files) == 22
    assert all(path.exists() and path.stat().st_size > 0 for path, _ in c.files)
    assert {spec.fmt for _, spec in c.files} == {"xlsx", "csv"}
    assert [spec.bad for _, spec in c.files if spec.bad] == ["out_gt_poor"]
    assert {spec.period for _, spec in c.files} >= {"2024", "2024-6T", "2025-6T", "2025"}
    assert all(path.parent.name == spec.province_code for path, spec in c.files)
    # a second call reuses the cache
    again = bench_corpus.build_corpus(cache, seed=7, quick=True, scale=1)
    assert again.cached_rounds == [1] and again.generate_seconds == 0


@pytest.mark.slow
def test_quick_bench_without_dbt_reports_every_path(tmp_path, cache, home, lhpn_home,
                                                   monkeypatch):
    # the import probes run as in a benchmark (a fresh interpreter each, the same code), on a
    # module that costs nothing: importing GX twice and dbt once (9 s of CPU) is what they
    # measure, not what this test checks
    monkeypatch.setattr(bench_run, "_IMPORTS", dict.fromkeys(bench_run._IMPORTS, "import json"))
    out = tmp_path / "bench.json"
    res = bench_run.main(["--quick", "--no-dbt", "--no-profile", "--home", str(lhpn_home),
                          "--cache", str(cache), "--json", str(out)])
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["setup"]["files"] == 22
    assert set(saved["imports"]) == {"great_expectations", "gx_suites", "dbt"}
    assert all(probe["cpu_seconds"] >= 0 for probe in saved["imports"].values()), saved["imports"]
    ingest = saved["project"]["ingest"]
    assert ingest["accepted"] + ingest["rejected"] == 22 and ingest["failed"] == 0
    assert set(ingest["seconds"]) == {"receive", "read", "validate", "load"}
    assert saved["floor"]["files"] == 22 and saved["floor"]["rows"] > 0
    assert saved["peer"]["files_measured"] == 22
    assert {t["target"] for t in res["targets"]} >= {
        "read+validate+load throughput >= 0.5 x floor", "full path >= 8 x naive peer"}
