"""The production path, measured: `python -m tests.bench.airflow [--files 300] [--json PATH]`.

`make bench-airflow` starts `airflow standalone` the way `make airflow` does
(`ingest.airflow.local`: the embedded PostgreSQL holds the metadata, the warm LocalExecutor, the
inbox watcher) on a data home of its own, and measures the time from dropping files into the
inbox to the `lhpn_marts` asset event that `lhpn_warehouse` emits when the marts are rebuilt:

  warm-up  one file, so dbt's partial-parse cache and Airflow's first runs are behind us;
  1 file   one new province report, copied with its old modification time (settled at once);
  copied   one new report at a time (--repeats, median), copied as an office copies (`cp`,
           Explorer: a fresh modification time, so the settle rule applies), timed until its
           receipt holds the province's figures;
  burst    N files (default 300) copied at once the same way, as at the 15 December deadline,
           timed until the lhpn_warehouse run that published the marts wrote the receipts and
           pages (its refresh_outputs task ended).

Then it stops Airflow, empties the warehouse and runs `lhpn run` (the real CLI, in a fresh
process each time, as an operator runs it) on the same files copied the same way, in the same
order, and prints both with their ratio, the targets (one file <= 15 s to the marts; a copied
file's receipt with figures <= the settle window + 5 s; the burst <= 1.5 x `lhpn run`), the
Airflow processes' peak memory and, from Airflow's own records, where the seconds went.
`--scale K` takes the burst from K rounds of the corpus (`--files 0`: all of them) and
`--workers N` gives the LocalExecutor N task slots: the scale runs of issue 23.
Nothing is asserted: this measures.

Everything is bounded: Airflow must be ready within --start-timeout, each drop must reach the
marts within --drop-timeout, and Airflow's whole process group is stopped on the way out
(also on Ctrl-C or an error), as is the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.corpus import FileSpec, build_corpus, default_cache
from tests.bench.run import corpus_link, empty_trash, git_head, log, reset_warehouse

ONE_FILE_TARGET_S = 15.0
COPIED_SLACK_S = 5.0  # a copied file's receipt with figures: <= the settle window + this
BURST_FACTOR = 1.5  # a copied burst through Airflow: <= this x `lhpn run` on the same files
DAGS = ("lhpn_ingest", "lhpn_warehouse")


def copy_fresh(source: Path, target: Path) -> Path:
    """`source` copied to `target` as `cp` (without -p) or Explorer copies: the data only, so
    the copy's modification time is now and the settle rule applies to it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def _receipt_figures(spec: FileSpec) -> tuple[Path, str]:
    """Where the receipt of a dropped corpus file goes, and the line that says it holds the
    province's figures from the marts (receipts.py's own text)."""
    from ingest.outbox import receipts

    name = Path(spec.rel_path).name
    return (receipts.receipt_path(spec.province_code, name),
            receipts._TEXT["vi"]["figures"].format(period=spec.period))


def _group_memory_mb(pgid: int) -> tuple[float, float]:
    """Memory of the processes of the group, MB: the sum of their proportional set sizes (a page
    the forked workers share counts once in all) and the largest resident set, from /proc."""
    total = largest = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{entry.name}/smaps_rollup", encoding="ascii") as fh:
                pss = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss:"))
        except (OSError, ValueError, IndexError, StopIteration):
            continue
        total += pss
        largest = max(largest, rss)
    return round(total / 2**20, 1), round(largest / 2**20, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _libpq(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg2://", "postgresql://", 1)


class Standalone:
    """`python -m ingest.airflow.local` in its own process group, stopped for sure on exit."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Standalone:
        self.log_file = self.log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "ingest.airflow.local"], env=self.env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _group_gone(self, pgid: int, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.proc.poll()  # reap the leader, or it lingers as a zombie of the group
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.5)
        return False

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM to the whole group (scheduler, triggerer, api-server, dag-processor, task
        processes), then SIGKILL to whatever is left after `grace` seconds."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if self._group_gone(pgid, wait):
                break
        self.proc.wait(timeout=10)
        self.proc = None
        self.log_file.close()

    def __exit__(self, *exc) -> None:
        self.stop()


def _metadata(url: str, sql: str, params=None) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        return conn.execute(sql, params or []).fetchall()


def wait_ready(url: str, airflow: Standalone, timeout: float) -> float:
    """Until both DAGs are parsed and unpaused, the scheduler and triggerer heartbeat and the
    inbox watcher's trigger runs in the triggerer; returns the seconds it took."""
    started = time.monotonic()
    last = ""
    while time.monotonic() - started < timeout:
        if not airflow.alive():
            raise RuntimeError(f"airflow standalone exited; see {airflow.log_path}")
        try:
            dags = dict(_metadata(url, "select dag_id, is_paused from dag where dag_id = any(%s)",
                                  [list(DAGS)]))
            jobs = {job for (job,) in _metadata(
                url, "select job_type from job where state = 'running'"
                     " and latest_heartbeat > now() - interval '30 seconds'")}
            watcher = _metadata(url, "select count(*) from trigger where classpath ="
                                     " 'ingest.airflow.assets.InboxTrigger'"
                                     " and triggerer_id is not null")
            ready = (set(dags) == set(DAGS) and not any(dags.values())
                     and {"SchedulerJob", "TriggererJob"} <= jobs and watcher[0][0] > 0)
            last = f"dags {dags}, jobs {sorted(jobs)}, watcher {watcher[0][0]}"
            if ready:
                return time.monotonic() - started
        except Exception as exc:  # noqa: BLE001 - tables not migrated yet, server starting
            last = f"{type(exc).__name__}: {str(exc)[:120]}"
        time.sleep(2)
    raise TimeoutError(f"Airflow not ready after {timeout:.0f} s ({last}); see {airflow.log_path}")


def _marts_events(url: str) -> int:
    rows = _metadata(url, "select coalesce(max(e.id), 0) from asset_event e"
                          " join asset a on a.id = e.asset_id where a.name = 'lhpn_marts'")
    return rows[0][0]


def _timeline(url: str, since: datetime) -> dict:
    """Airflow's record of the runs started since the drop: runs, tasks, asset events."""
    runs = _metadata(url, """
        select dag_id, run_id, run_type, state, queued_at, start_date, end_date
        from dag_run where dag_id = any(%s) and queued_at >= %s order by queued_at""",
                     [list(DAGS), since])
    tis = _metadata(url, """
        select ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state, ti.queued_dttm,
               ti.start_date, ti.end_date, ti.rendered_map_index
        from task_instance ti join dag_run r on r.dag_id = ti.dag_id and r.run_id = ti.run_id
        where r.dag_id = any(%s) and r.queued_at >= %s
        order by ti.start_date nulls last""", [list(DAGS), since])
    events = _metadata(url, """
        select a.name, e.timestamp from asset_event e join asset a on a.id = e.asset_id
        where e.timestamp >= %s order by e.timestamp""", [since])

    def rel(ts):
        return None if ts is None else round((ts - since).total_seconds(), 2)

    return {
        "runs": [{"dag_id": d, "run_id": r, "type": t, "state": s, "queued": rel(q),
                  "start": rel(b), "end": rel(e)} for d, r, t, s, q, b, e in runs],
        "tasks": [{"dag_id": d, "task": t + (f"[{m}]" if m >= 0 else ""), "state": s,
                   "queued": rel(q), "start": rel(b), "end": rel(e),
                   "seconds": round((e - b).total_seconds(), 2) if b and e else None,
                   "label": label}
                  for d, _r, t, m, s, q, b, e, label in tis],
        "asset_events": [{"asset": n, "at": rel(ts)} for n, ts in events],
    }


def _where_the_seconds_went(timeline: dict, total: float) -> list[str]:
    """Drop -> watcher -> ingest run -> tasks -> warehouse run -> tasks -> marts event."""
    out = []
    first = {}
    for e in timeline["asset_events"]:
        first.setdefault(e["asset"], e["at"])
    ingest = next((r for r in timeline["runs"] if r["dag_id"] == "lhpn_ingest"), None)
    warehouse = next((r for r in timeline["runs"] if r["dag_id"] == "lhpn_warehouse"), None)
    if "lhpn_inbox" in first:
        out.append(f"{first['lhpn_inbox']:6.1f} s  inbox watcher fires (asset lhpn_inbox)")
    for name, run in (("lhpn_ingest", ingest), ("lhpn_warehouse", warehouse)):
        if run is None:
            continue
        out.append(f"{run['queued']:6.1f} s  {name} run queued ({run['type']}), started "
                   f"{run['start']} s, ended {run['end']} s")
        for t in timeline["tasks"]:
            if t["dag_id"] == name and t["start"] is not None:
                wait = (t["start"] - t["queued"]) if t["queued"] is not None else None
                out.append(f"{t['start']:6.1f} s    {t['task']:<26} {t['seconds'] or 0:5.1f} s"
                           + (f" (queued {wait:.1f} s before)" if wait is not None else "")
                           + (f"  {t['state']}" if t["state"] != "success" else "")
                           + (f"  [{t['label'][:70]}]" if t["label"] and "[" in t["task"]
                              and name == "lhpn_ingest" else ""))
    if "lhpn_raw_submissions" in first:
        out.append(f"{first['lhpn_raw_submissions']:6.1f} s  asset lhpn_raw_submissions")
    out.append(f"{total:6.1f} s  asset lhpn_marts")
    return out


def drop_and_wait(url: str, inbox: Path, files: list[tuple[Path, FileSpec]], timeout: float,
                  label: str, *, fresh: bool = False, receipts: bool = False,
                  until_done: bool = False, pgid: int | None = None) -> dict:
    """Drop `files` into the inbox at once (`fresh`: copied as an office copies); the seconds
    until the next lhpn_marts event, and (`receipts`) until every good file's receipt holds its
    figures, and (`until_done`) until the lhpn_warehouse run that published the event wrote the
    receipts and pages.
    With `pgid`, the peak resident memory of Airflow's processes meanwhile."""
    before = _marts_events(url)
    now = _metadata(url, "select now()")[0][0]  # the metadata server's clock, for the timeline
    t0 = time.monotonic()
    for path, spec in files:
        (copy_fresh if fresh else corpus_link)(path, inbox / spec.rel_path)
    log(f"{label}: dropped {len(files)} file(s) in {time.monotonic() - t0:.2f} s"
        f"{' (fresh copies)' if fresh else ''}, waiting for the lhpn_marts event ...")
    waiting = dict(_receipt_figures(spec) for _, spec in files if not spec.bad) if receipts \
        else {}
    seconds = receipt_seconds = done_seconds = None
    source_run = None
    peak = (0.0, 0.0)
    next_sample = 0.0
    while time.monotonic() - t0 < timeout:
        elapsed = time.monotonic() - t0
        if pgid is not None and time.monotonic() >= next_sample:
            total, largest = _group_memory_mb(pgid)
            peak = (max(peak[0], total), max(peak[1], largest))
            next_sample = time.monotonic() + 1.0
        if seconds is None:
            event = _metadata(url, "select e.source_dag_id, e.source_run_id from asset_event e"
                                   " join asset a on a.id = e.asset_id where a.name ="
                                   " 'lhpn_marts' and e.id > %s order by e.id limit 1", [before])
            if event:
                seconds, source_run = elapsed, event[0]
        for receipt, marker in list(waiting.items()):
            try:
                if marker in receipt.read_text(encoding="utf-8"):
                    del waiting[receipt]
            except OSError:
                pass
        if receipts and receipt_seconds is None and not waiting:
            receipt_seconds = elapsed
        if until_done and source_run and done_seconds is None:
            # receipts and pages written (what `lhpn run` ends with); the per-model tasks of the
            # grid may still be running
            ended = _metadata(url, "select end_date from task_instance where dag_id = %s and"
                                   " run_id = %s and task_id = 'refresh_outputs'",
                              list(source_run))
            if ended and ended[0][0] is not None:
                done_seconds = (ended[0][0] - now).total_seconds()
        if (seconds is not None and (not receipts or receipt_seconds is not None)
                and (not until_done or done_seconds is not None)):
            break
        time.sleep(0.25)
    left = sum(1 for p in inbox.rglob("*") if p.is_file())
    result = {"label": label, "files": len(files), "fresh": fresh,
              "timed_out": seconds is None, "seconds": _r(seconds),
              "receipt_seconds": _r(receipt_seconds), "done_seconds": _r(done_seconds),
              "receipts_missing": len(waiting), "inbox_left": left,
              "peak_rss_mb": peak[0] if pgid is not None else None,
              "peak_process_rss_mb": peak[1] if pgid is not None else None}
    time.sleep(1.0)  # let the last tasks record their end
    result["timeline"] = _timeline(url, now)
    result["breakdown"] = _where_the_seconds_went(result["timeline"], seconds or timeout)
    if receipt_seconds is not None:
        result["breakdown"].append(f"{receipt_seconds:6.1f} s  every receipt holds its figures")
    if done_seconds is not None:
        result["breakdown"].append(f"{done_seconds:6.1f} s  receipts and pages written "
                                   "(refresh_outputs ended)")
    log(f"{label}: " + (f"{seconds:.1f} s to the marts event" if seconds
                        else f"no marts event within {timeout:.0f} s")
        + (f", {receipt_seconds:.1f} s to the receipt with figures" if receipt_seconds else "")
        + (f", {done_seconds:.1f} s to receipts and pages" if done_seconds else ""))
    return result


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _settle_airflow(url: str, timeout: float = 120) -> None:
    """Wait until no run of the two DAGs is queued or running (the previous drop is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = _metadata(url, "select count(*) from dag_run where dag_id = any(%s)"
                              " and state in ('queued', 'running')", [list(DAGS)])[0][0]
        if not busy:
            return
        time.sleep(1)


def lhpn_run(env: dict[str, str], inbox: Path, files: list[tuple[Path, FileSpec]],
             label: str, timeout: float, *, fresh: bool = False) -> dict:
    """`lhpn run` in a fresh process on `files` (dropped first, `fresh`: copied as an office
    copies, the run waits for them to settle); wall seconds from the drop, exit code."""
    t0 = time.monotonic()
    for path, spec in files:
        (copy_fresh if fresh else corpus_link)(path, inbox / spec.rel_path)
    proc = subprocess.run([sys.executable, "-m", "ingest.cli.main", "run", "--quiet",
                           "--no-samples"], env=env, capture_output=True, text=True,
                          timeout=timeout)
    seconds = time.monotonic() - t0
    tail = [line for line in proc.stdout.splitlines() if "Marts" in line or "Kết quả" in line]
    log(f"lhpn run, {label}: {seconds:.1f} s (exit {proc.returncode}) {' | '.join(tail)[:160]}")
    return {"label": label, "files": len(files), "seconds": round(seconds, 2),
            "exit_code": proc.returncode, "output": tail,
            "stderr": proc.stderr[-2000:] if proc.returncode else ""}


def _pick(files: list[tuple[Path, FileSpec]], count: int, skip: set) -> list:
    """`count` files spread over the corpus (every province and period kind), in path order."""
    pool = [f for f in files if f[1].rel_path not in skip]
    step = len(pool) / count
    return sorted((pool[int(i * step)] for i in range(count)), key=lambda f: f[1].rel_path)


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def render(res: dict) -> str:
    a, c, meta = res["airflow"], res["lhpn_run"], res["meta"]
    settle = meta["settle"]
    out = [f"lhpn-warehouse Airflow benchmark — {meta['started']}  commit "
           f"{meta['commit']}  {meta['cpus']} CPUs, load average at start "
           f"{meta['load_start']}, at end {meta.get('load_end')}",
           f"airflow standalone ready in {_f(a.get('ready_seconds'), '.0f')} s (not measured); "
           f"executor {meta['executor']}, {meta['workers']} task slots; corpus scale "
           f"{meta['scale']}x",
           f"settle window {settle['seconds']:.0f} s; the inbox is on {settle['file_system']}: "
           + (f"a closed copy settles in {settle['quick_seconds']:.0f} s (local folder, lease "
              "test exact)" if settle["quick"] else "the whole window applies (not a local "
              "folder, or the lease test cannot be made)"),
           "", f"{'drop':<40}{'Airflow s':>10}{'lhpn run s':>12}{'ratio':>8}  note",
           "-" * 90]

    def row(name, air, cli, note=""):
        ratio = air / cli if air and cli else None
        out.append(f"{name:<40}{_f(air):>10}{_f(cli):>12}{_f(ratio, '.2f'):>8}  {note}")

    for key, name in (("warmup", "warm-up, 1 file (not a target)"),
                      ("one", "1 file, old mtime -> marts")):
        row(name, (a.get(key) or {}).get("seconds"), (c.get(key) or {}).get("seconds"))
    copied = a.get("copied") or []
    copied_cli = c.get("copied") or []
    copied_receipt = _median([d.get("receipt_seconds") for d in copied])
    row(f"1 file copied (cp) -> marts (median {len(copied)})",
        _median([d.get("seconds") for d in copied]), None)
    row("1 file copied (cp) -> receipt w/ figures", copied_receipt,
        _median([d.get("seconds") for d in copied_cli]), "lhpn run: drop -> run ended")
    burst, burst_cli = a.get("burst") or {}, c.get("burst") or {}
    row(f"burst, {burst.get('files') or burst_cli.get('files')} files copied -> marts",
        burst.get("seconds"), None)
    row("burst copied -> receipts and pages", burst.get("done_seconds"),
        burst_cli.get("seconds"), "lhpn run: drop -> run ended (receipts, pages)")
    if burst.get("peak_rss_mb"):
        out.append(f"Airflow processes during the burst: peak {burst['peak_rss_mb']:,.0f} MB in "
                   f"all (proportional set sizes), {burst['peak_process_rss_mb']:,.0f} MB resident"
                   " the largest one")

    out += ["", "targets (printed, never asserted)"]
    one = (a.get("one") or {}).get("seconds")
    if one is not None:
        ok = one <= ONE_FILE_TARGET_S
        out.append(f"  [{'PASS' if ok else 'MISS'}] 1 file -> marts <= {ONE_FILE_TARGET_S:.0f} s "
                   f"under standalone Airflow: {one:.1f} s"
                   + ("" if ok else f" (over by {one - ONE_FILE_TARGET_S:.1f} s)"))
    else:
        out.append("  [MISS] 1 file -> marts: no lhpn_marts event")
    goal = settle["seconds"] + COPIED_SLACK_S
    if copied_receipt is not None:
        ok = copied_receipt <= goal
        out.append(f"  [{'PASS' if ok else 'MISS'}] 1 file copied -> receipt with figures <= "
                   f"settle {settle['seconds']:.0f} s + {COPIED_SLACK_S:.0f} s = {goal:.0f} s: "
                   f"{copied_receipt:.1f} s"
                   + ("" if ok else f" (over by {copied_receipt - goal:.1f} s)"))
    else:
        out.append("  [MISS] 1 file copied -> receipt with figures: not seen")
    done, cli = burst.get("done_seconds"), burst_cli.get("seconds")
    if done is not None and cli:
        ok = done <= BURST_FACTOR * cli
        out.append(f"  [{'PASS' if ok else 'MISS'}] burst copied -> done <= {BURST_FACTOR} x lhpn "
                   f"run = {BURST_FACTOR * cli:.1f} s: {done:.1f} s ({done / cli:.2f} x)"
                   + ("" if ok else f" (over by {done - BURST_FACTOR * cli:.1f} s)"))
    else:
        out.append("  [MISS] burst copied -> done: no receipts and pages or no lhpn run figure")
    for drop in (a.get("one"), copied[0] if copied else None, burst):
        if drop:
            out += ["", f"where the seconds went, {drop['label']} (Airflow's own records, "
                        "seconds after the drop)"]
            out += ["  " + line for line in drop["breakdown"]]
    out += ["", "The machine is shared (load averages above): every figure here is noisy."]
    return "\n".join(out)


def _f(value, spec=".1f") -> str:
    return "—" if value is None else format(value, spec)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m tests.bench.airflow",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=300,
                    help="files in the burst (default 300; 0: every file of the corpus)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="single copied files, one at a time (default 3; the median counts)")
    ap.add_argument("--scale", type=int, default=1,
                    help="corpus rounds the burst is taken from (default 1; 16: issue 23)")
    ap.add_argument("--workers", type=int, default=None,
                    help="task slots of the LocalExecutor (AIRFLOW__CORE__PARALLELISM)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--home", default=None, help="data home (default .lhpn/bench-airflow)")
    ap.add_argument("--cache", default=None, help="corpus cache (default .lhpn/bench-corpus)")
    ap.add_argument("--json", default=None, help="results (default bench-results-airflow.json)")
    ap.add_argument("--start-timeout", type=float, default=420, help="for Airflow to be ready")
    ap.add_argument("--drop-timeout", type=float, default=300, help="for each drop's marts event")
    ap.add_argument("--quick", action="store_true",
                    help="the quick corpus (22 files, burst of at most 20): a smoke run")
    return ap.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from ingest.settings import PROJECT_ROOT

    root = PROJECT_ROOT
    home_dir = Path(args.home or root / ".lhpn" / "bench-airflow").expanduser().resolve()
    os.environ["LHPN_HOME"] = str(home_dir)
    for var in ("LHPN_INBOX", "LHPN_WAREHOUSE_URL", "LHPN_OUTBOX"):
        if os.environ.pop(var, None):
            log(f"ignoring {var}: the benchmark uses its own data home and embedded warehouse")
    json_path = Path(args.json) if args.json else root / "bench-results-airflow.json"

    corpus = build_corpus(Path(args.cache) if args.cache else default_cache(), seed=args.seed,
                          scale=args.scale, quick=args.quick, log=log)
    good = [f for f in corpus.round_files([1]) if not f[1].bad]
    repeats = max(1, args.repeats)
    singles = _pick(good, 2 + repeats, set())  # warm-up, 1 file, the copied ones
    warmup, one, copied = singles[:1], singles[1:2], [[f] for f in singles[2:]]
    taken = {spec.rel_path for _, spec in singles}
    pool = len(corpus.files) - len(taken)
    burst_size = pool if args.files <= 0 else min(args.files, pool)
    burst = _pick(corpus.files, burst_size, taken)  # the bad files of the corpus come along

    from ingest import warehouse
    from ingest.airflow import local as airflow_local
    from ingest.receive import settle
    from ingest.settings import home, settle_seconds

    data_home = home().ensure()
    url = warehouse.warehouse_url()
    reset_warehouse(url)
    port = _free_port()
    env = {**os.environ, **airflow_local.airflow_env(data_home, port=port)}
    env["LHPN_AIRFLOW_PORT"] = str(port)
    if args.workers:
        env["AIRFLOW__CORE__PARALLELISM"] = str(args.workers)
    # the log servers of the scheduler and the triggerer, off the ports another Airflow may hold
    env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(_free_port())
    env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(_free_port())
    meta_url = _libpq(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    inbox_dev = os.stat(data_home.inbox).st_dev
    res: dict = {"meta": {
        "started": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_head(),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_start": [round(x, 1) for x in os.getloadavg()],
        "executor": env["AIRFLOW__CORE__EXECUTOR"], "home": str(home_dir), "port": port,
        "workers": env["AIRFLOW__CORE__PARALLELISM"], "scale": args.scale,
        "settle": {"seconds": settle_seconds(), "quick": settle.local_file_system(inbox_dev),
                   "quick_seconds": settle.QUICK_SETTLE_SECONDS,
                   "file_system": settle.file_system(inbox_dev) or "unknown"},
        "files": {"warmup": [s.rel_path for _, s in warmup], "one": [s.rel_path for _, s in one],
                  "copied": [f[0][1].rel_path for f in copied],
                  "burst": len(burst), "burst_bad": sum(1 for _, s in burst if s.bad)},
    }, "airflow": {}, "lhpn_run": {}}
    drops = [("warmup", warmup, "warm-up, 1 file", {}),
             ("one", one, "1 file", {}),
             *(("copied", files, f"1 file copied ({n + 1}/{repeats})",
                {"fresh": True, "receipts": True}) for n, files in enumerate(copied)),
             ("burst", burst, f"burst of {len(burst)} files copied",
              {"fresh": True, "until_done": True})]

    airflow_log = home_dir / "bench-airflow-standalone.log"
    log(f"starting airflow standalone on port {port} (log {airflow_log}) ...")
    try:
        with Standalone(env, airflow_log) as airflow:
            res["airflow"]["ready_seconds"] = round(
                wait_ready(meta_url, airflow, args.start_timeout), 1)
            log(f"Airflow ready after {res['airflow']['ready_seconds']:.0f} s")
            for key, files, label, how in drops:
                _settle_airflow(meta_url)
                result = drop_and_wait(meta_url, data_home.inbox, files, args.drop_timeout,
                                       label, pgid=airflow.proc.pid, **how)
                _record(res["airflow"], key, result)
                if result["timed_out"]:
                    break
            _settle_airflow(meta_url)
            log("stopping Airflow ...")
    except Exception as exc:  # noqa: BLE001 - report what was measured, then the failure
        res["airflow"]["error"] = f"{type(exc).__name__}: {exc}"
        log(f"Airflow part failed: {res['airflow']['error']}")

    # the same files through `lhpn run`, copied the same way, in the same order, on an emptied
    # warehouse
    reset_warehouse(url)
    cli_env = {**os.environ, "LHPN_HOME": str(home_dir)}
    for key, files, label, how in drops:
        _record(res["lhpn_run"], key, lhpn_run(cli_env, data_home.inbox, files, label,
                                               args.drop_timeout, fresh=how.get("fresh", False)))
    warehouse.stop_embedded(data_home)
    empty_trash()
    res["meta"]["load_end"] = [round(x, 1) for x in os.getloadavg()]
    json_path.write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str),
                         encoding="utf-8")
    print(render(res))
    if res["airflow"].get("error"):
        print(f"\nAirflow part failed: {res['airflow']['error']}")
    print(f"\nresults: {json_path}")
    return res


def _record(into: dict, key: str, result: dict) -> None:
    """The copied single files are a list (one result each); the other drops one result."""
    if key == "copied":
        into.setdefault(key, []).append(result)
    else:
        into[key] = result


if __name__ == "__main__":
    main()
