"""How often the outlier rule warns on the bench corpus: `python -m tests.bench.outliers`.

Issue 11 item 6: a warning a clerk gets on every second file is a warning nobody reads. This
loads round 1 of the bench corpus (tests/bench/corpus.py) through `process_files`, then each
resubmission round on top of it, and prints the share of that round's files that got at least
one `outlier` warning, with the number of outlier findings. Every resubmission corrects one to
three numbers of a report by 1-5 %, so few of them deserve a warning.

Options: `--rounds N` (default 2: round 1, then one resubmission round), `--quick` (the
22-file corpus: two years, too short a history for any outlier), `--cache`, `--seed`, `--home`.
It uses its own data home (`.lhpn/bench-outliers`) and embedded PostgreSQL, and truncates them.
Nothing is asserted: this is a measuring tool.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tests.bench.corpus import build_corpus, default_cache
from tests.bench.run import log, project_root, reset_warehouse


def _flagged(url: str, shas: list[str]) -> tuple[int, int]:
    """(files with an outlier warning, outlier findings) among the submissions `shas`."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        files, findings = conn.execute(
            "select count(distinct s.sha256), count(*) from raw.submissions s"
            " join audit.validation_results v using (submission_id)"
            " where v.rule = 'outlier' and s.sha256 = any(%s)", [shas]).fetchone()
    return files, findings


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache")
    ap.add_argument("--home")
    args = ap.parse_args(argv)
    home_dir = Path(args.home or project_root() / ".lhpn" / "bench-outliers").resolve()
    os.environ["LHPN_HOME"] = str(home_dir)
    for var in ("LHPN_INBOX", "LHPN_WAREHOUSE_URL"):
        os.environ.pop(var, None)
    os.environ["LHPN_SETTLE_SECONDS"] = "0"

    from ingest import warehouse
    from ingest.pipeline import list_inbox, process_files
    from ingest.settings import home

    cache = Path(args.cache) if args.cache else default_cache()
    corpus = build_corpus(cache, seed=args.seed, scale=args.rounds, quick=args.quick, log=log)
    url = warehouse.warehouse_url()
    reset_warehouse(url)
    out = []
    for round_no in range(1, args.rounds + 1):
        corpus.link_into(home().inbox, [round_no])
        summary = process_files(list_inbox())
        loaded = [r for r in summary.results
                  if r.event in ("accepted", "accepted_with_warnings")]
        files, findings = _flagged(url, [r.sha256 for r in loaded])
        share = files / len(loaded) if loaded else 0.0
        out.append({"round": round_no, "files": len(summary.results), "loaded": len(loaded),
                    "flagged": files, "share": share, "outlier_findings": findings})
        log(f"round {round_no}: {len(summary.results)} files, {len(loaded)} loaded, "
            f"{files} with an outlier warning ({share:.1%}), {findings} outlier findings")
    return out


if __name__ == "__main__":
    main()
