"""What building the pages adds to a routine `lhpn run`, on the bench corpus (issue 13).

    python -m tests.bench.pages [--quick] [--repeats 5] [--home DIR] [--cache DIR]

Loads the corpus (tests/bench/corpus.py, ~1,240 files; --quick: 22) into its own data home with
the real pipeline and dbt, then times `build_site()` as a routine run calls it (dbt docs kept,
the project did not change), and once `lhpn docs` style (dbt docs regenerated). Prints the
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--home", default=None)
    parser.add_argument("--cache", default=None)
    args = parser.parse_args()

    from ingest.settings import PROJECT_ROOT

    home = Path(args.home or PROJECT_ROOT / ".lhpn" / "bench-pages").resolve()
    os.environ["LHPN_HOME"] = str(home)
    os.environ["LHPN_SETTLE_SECONDS"] = "0"
    for name in ("LHPN_WAREHOUSE_URL", "LHPN_INBOX", "LHPN_OUTBOX"):
        os.environ.pop(name, None)

    from ingest import pipeline
    from ingest.marts.build import build_marts
    from ingest.pages.site import build_site
    from ingest.settings import home as data_home
    from tests.bench.corpus import build_corpus

    corpus = build_corpus(Path(args.cache) if args.cache else None, quick=args.quick)
    where = data_home().ensure()
    site = where.site
    loaded = (site / "build.json").exists()
    if not loaded:
        for path, spec in corpus.files:
            target = where.inbox / spec.rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        t0 = time.perf_counter()
        summary = pipeline.process_files(pipeline.list_inbox(where), trigger="bench")
        print(f"loaded {summary.as_dict()['files']} files in {time.perf_counter() - t0:.1f} s")
        build_marts()
        t0 = time.perf_counter()
        build_site(dbt_docs_refresh=True)
        print(f"first build with dbt docs generate: {time.perf_counter() - t0:.2f} s")

    times, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        build_site()  # what refresh_outputs does after a routine run
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    pages = len(list(site.rglob("*.html")))
    size = sum(p.stat().st_size for p in site.rglob("*.html") if "dbt" not in p.parts)
    print(f"routine build_site (dbt docs unchanged), {pages} pages, {size / 1e6:.1f} MB of HTML: "
          f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
          f"max {max(times):.2f} s over {len(times)} builds; this process's CPU median "
          f"{statistics.median(cpu):.2f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
