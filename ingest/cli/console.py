"""What `lhpn run` and `lhpn status` print: progress per file, then short summaries."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import date
from pathlib import Path

import click
import psycopg
from psycopg.rows import dict_row

from ingest import settings, warehouse
from ingest.formats import run_details
from ingest.labels import OUTCOMES, outcome
from ingest.local_time import local_time
from ingest.pipeline import FileResult, RunSummary
from ingest.read.numbers import vn_number
from ingest.receive.names import display_name, local_path
from ingest.warehouse import query

# the colour of each outcome on the progress line; those in red are printed in capitals too
_EVENT_COLOUR = {"accepted": "green", "accepted_with_warnings": "yellow", "rejected": "red",
                 "failed": "red", "refused": "red"}


def _fetch(conn: psycopg.Connection, name: str, **params) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query(name), params).fetchall()


def _marts_exist(conn: psycopg.Connection) -> bool:
    return conn.execute("select to_regclass('marts.submission_status') is not null").fetchone()[0]


def progress_line(result: FileResult, done: int, total: int) -> None:
    colour = _EVENT_COLOUR.get(result.event)
    label = outcome(result.event).short_vi if result.event in OUTCOMES else result.event
    if colour == "red":
        label = label.upper()
    where = f"{result.province_code}/{result.source_file}" if result.province_code else \
        result.source_file
    detail = run_details(vars(result), "vi")
    width = len(str(total))
    click.echo(f"[{done:>{width}}/{total}] {where}: " + click.style(label, fg=colour, bold=True)
               + (f" ({detail})" if detail else ""))


def _table(rows: list[dict], columns: list[str], headers: dict[str, str] | None = None) -> None:
    """Rows under their column names, or under `headers` where given. A column `x_label` shows
    the mart's `x_label_vi / x_label_en` (labels: the var code_labels of dbt_project.yml)."""
    if not rows:
        click.echo("  (không có / none)")
        return
    cells = [[_fmt(_cell(r, c)) for c in columns] for r in rows]
    names = [(headers or {}).get(c, c) for c in columns]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(names)]
    click.echo("  " + "  ".join(c.ljust(w) for c, w in zip(names, widths, strict=True)))
    for row in cells:
        click.echo("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(row: dict, column: str):
    if column.endswith("_label") and column not in row:
        labels = [row[f"{column}_{lang}"] for lang in ("vi", "en")]
        return " / ".join(labels) if all(labels) else None
    return row[column]


# `lhpn run` and `lhpn status`: the by-period table, its headers in the clerk's words
_BY_PERIOD = ["period", "due_date", "received", "accepted", "with_warnings", "rejected", "missing",
              "not_due", "late"]
_BY_PERIOD_HEADERS = {
    "period": "kỳ/period", "due_date": "hạn/due", "received": "đã gửi/received",
    "accepted": "đã nhận/accepted", "with_warnings": "có cảnh báo/with warnings",
    "rejected": "bị từ chối/rejected", "missing": "chưa gửi, quá hạn/missing",
    "not_due": "chưa đến hạn/not yet due",
    "late": "muộn, kể cả chưa gửi/late, incl. missing",
}


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, float) or hasattr(value, "quantize"):
        return vn_number(round(float(value), 1), decimals=1)
    if isinstance(value, date):  # datetimes too: in Vietnam time, as receipts and pages print
        return local_time(value)
    return str(value)


@contextlib.contextmanager
def _backfill(on: bool | None):
    """LHPN_BACKFILL for the duration of one run (`lhpn run --backfill`, the bundled samples)."""
    before = os.environ.get("LHPN_BACKFILL")
    if on:
        os.environ["LHPN_BACKFILL"] = "1"
    try:
        yield
    finally:
        if on:
            if before is None:
                os.environ.pop("LHPN_BACKFILL", None)
            else:
                os.environ["LHPN_BACKFILL"] = before


def run_command(*, samples: bool = True, build: bool = True, quiet: bool = False,
                backfill: bool | None = None) -> None:
    """`lhpn run`: process the inbox, build the marts, print what a newcomer needs to see.
    `backfill` marks the run's files as history imported on purpose (on_time NULL); the bundled
    sample reports of a first run are such history."""
    from ingest import pipeline

    data_home = settings.home().ensure()
    started = time.perf_counter()
    url = warehouse.warehouse_url()
    paths = pipeline.list_inbox(data_home)
    if not paths and samples:
        with psycopg.connect(url) as conn:
            first_run = conn.execute("select not exists (select 1 from raw.submissions)"
                                     ).fetchone()[0]
        if first_run:
            from ingest.samples import write_samples

            written = write_samples(data_home.inbox)
            backfill = True  # past rounds, dropped today: history, not late reports
            click.echo(f"Hộp thư trống: đã đặt {len(written)} báo cáo mẫu vào {data_home.inbox}\n"
                       f"(inbox empty on a first run: {len(written)} sample reports added)")
            paths = pipeline.list_inbox(data_home)
    click.echo(f"Hộp thư / inbox: {data_home.inbox} — {len(paths)} tệp / files")
    if backfill:
        click.echo("Nhập bù dữ liệu cũ (backfill): không xét đúng hạn cho các tệp lần này / "
                   "backfill: this run's files get no on-time verdict")
    with _backfill(backfill):
        summary = pipeline.process_files(paths, trigger="cli",
                                         progress=None if quiet else progress_line)
    print_run_summary(summary)
    from ingest.publish import refresh_outputs

    built = None
    if build:
        from ingest.marts.build import refresh_marts

        click.echo("Dựng các bảng marts nếu cần (dbt build)... / building the marts if needed...")
        try:
            built = refresh_marts()  # only what this run made stale: nothing when no data changed
        except Exception:
            # the receipts and pages still tell what the warehouse holds; the failure is reported
            try:
                refresh_outputs(summary.run_id)
            except Exception as exc:  # noqa: BLE001 - the build's failure is the one to show
                click.secho(f"Biên nhận, trang chưa cập nhật / receipts and pages not refreshed:"
                            f" {type(exc).__name__}: {exc}", fg="yellow", err=True)
            raise
        if built["plan"] == "none":
            click.echo(f"Marts không cần dựng lại / marts are current ({built['reason']}).")
        else:
            click.echo(f"Marts built in {built.get('seconds', 0):.1f} s ({built['reason']}):"
                       f" {built['built']}.")
            if built.get("attempts", 1) > 1:
                click.echo(f"  Khóa trên marts đang bị giữ (phiên BI hoặc các luồng dbt): dựng lại"
                           f" {built['attempts'] - 1} lần / a lock on the marts was held (a BI"
                           f" session, or dbt's own threads): retried {built['attempts'] - 1}"
                           f" time(s).")
    # after every run, built or not: receipts quote what the marts now hold, pages match them
    published = refresh_outputs(summary.run_id)
    with psycopg.connect(url) as conn:
        if build and _marts_exist(conn):
            print_marts_summary(conn)
    print_where(summary, data_home, published)
    click.echo(f"Xong trong {time.perf_counter() - started:.1f} s / done.")
    if summary.failed:
        click.secho(f"{summary.failed} tệp gặp lỗi hệ thống / files failed (system error); they "
                    "stay in the inbox for the next run.", fg="red", err=True)
        sys.exit(1)


def print_run_summary(summary: RunSummary) -> None:
    d = summary.as_dict()
    click.echo(
        f"\nKết quả / result: {d['files']} tệp — nhận {d['accepted']} "
        f"(có cảnh báo {d['with_warnings']}), từ chối {d['rejected']}, trùng {d['duplicates']}, "
        f"để lần sau {d['deferred']}, không nhận {d.get('refused', 0)}, "
        f"lỗi hệ thống {d['failed']}; {d['rows']} dòng số liệu."
    )
    kept = [r for r in summary.results if r.kept_in_inbox]
    if kept or summary.skipped:
        click.secho(
            f"Hộp thư không cho xoá {len(kept)} tệp đã xử lý; bỏ qua {len(summary.skipped)} tệp "
            "đã xử lý ở lần trước (xem `lhpn status`) / the inbox does not let "
            f"{len(kept)} processed file(s) be removed; {len(summary.skipped)} processed earlier "
            "skipped (the inbox is read-only or the files immutable: remove them by hand).",
            fg="yellow")
        for r in kept:
            click.echo(f"  {r.province_code}/{r.source_file}: {r.kept_in_inbox}")
    if summary.died:
        click.secho(f"Lần chạy trước bị dừng đột ngột / earlier run(s) found dead, marked died: "
                    f"{', '.join(summary.died)}; their files are taken by this run.",
                    fg="yellow")


def print_marts_summary(conn: psycopg.Connection) -> None:
    click.secho("\nChỉ tiêu nghị quyết / term scorecards", bold=True)
    _table(_fetch(conn, "scorecards", limit=10),
           ["province_code", "province_name", "term", "period", "scorecard_label"])
    click.secho("\nXếp hạng thi đua / emulation ranking (latest year)", bold=True)
    _table(_fetch(conn, "rankings", limit=15),
           ["year", "cluster_name", "rank_in_cluster", "province_name", "score", "max_score",
            "cluster_role_label"], {"cluster_role_label": "vai trò/role"})
    click.secho("\nGiảm nghèo / poverty support", bold=True)
    _table(_fetch(conn, "poverty", limit=8),
           ["province_code", "province_name", "period", "households_out_of_poverty",
            "out_of_poverty_rate_pct"])
    click.secho("\nTình trạng nộp báo cáo / submission status", bold=True)
    _table(_fetch(conn, "status_by_period", province=None, period=None), _BY_PERIOD,
           _BY_PERIOD_HEADERS)


def print_where(summary: RunSummary, data_home: settings.Home,
                published: dict | None = None) -> None:
    rejected = [r for r in summary.results if r.event == "rejected"]
    if rejected:
        click.secho("\nTệp bị từ chối / rejected files (report beside each):", bold=True)
        for r in rejected:
            click.echo(f"  {display_name(local_path(r.report or r.source_file))}")
    warned = [r for r in summary.results if r.event == "accepted_with_warnings"]
    if warned:
        click.secho("\nCảnh báo / warnings reports:", bold=True)
        for r in warned:
            click.echo(f"  {display_name(local_path(r.report or r.source_file))}")
    print_receipts(summary, data_home, published or {})
    if published and published.get("site"):
        click.secho("\nTrang tổng hợp / pages:", bold=True)
        click.echo(f"  {published['site']}")
    click.secho("\nKết nối BI / connect a BI tool (read-only, schema marts):", bold=True)
    # the run's output ends up in logs and terminals: show the URL without its password
    # (`lhpn bi-url` prints the whole URL for whoever sets up the BI tool)
    bi_url = warehouse.bi_url()
    shown = _without_password(bi_url)
    click.echo(f"  {shown}" + ("   (mật khẩu / password: `lhpn bi-url`)" if shown != bi_url
                               else ""))
    click.echo(f"  Lưu trữ / archive: {data_home.archive}   Cách ly / quarantine: "
               f"{data_home.quarantine}")


def _without_password(url: str) -> str:
    """The URL with its password replaced by `***`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    if not has_password:
        return url
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def print_receipts(summary: RunSummary, data_home: settings.Home, published: dict) -> None:
    """Where the provinces' answers are: one receipt per file of this run (contract §3)."""
    from ingest.outbox.receipts import UNKNOWN_FOLDER

    answered = [r for r in summary.results if r.receipt]
    refreshed = published.get("receipts") or 0
    if not answered and not refreshed:
        return
    click.secho("\nBiên nhận cho các tỉnh / receipts for the provinces "
                "(<outbox>/<mã tỉnh>/<tên tệp>.receipt.txt):", bold=True)
    click.echo(f"  {data_home.outbox} — {len(answered)} biên nhận cho các tệp lần này / "
               f"receipts for this run's files"
               + (f"; {refreshed} cập nhật theo marts / updated from the marts" if refreshed
                  else ""))
    unplaced = [r for r in answered
                if UNKNOWN_FOLDER in Path(r.receipt).relative_to(data_home.outbox).parts[:1]]
    if unplaced:
        click.echo(f"  {len(unplaced)} tệp không nằm trong thư mục tỉnh nào; biên nhận ở "
                   f"{data_home.outbox / UNKNOWN_FOLDER} (hãy chuyển cho tỉnh gửi) / files in no "
                   "province folder: pass their receipts on")
    missing = [r for r in summary.results if not r.receipt]
    if missing:
        click.secho(f"  {len(missing)} tệp chưa có biên nhận / files without a receipt: "
                    + ", ".join(f"{r.province_code}/{r.source_file}" for r in missing[:5])
                    + (" ..." if len(missing) > 5 else ""), fg="yellow")


def _answer_for_today() -> None:
    """Status is judged against today: rebuild the marts first when they were built on an
    earlier day (or data changed since) — contract §6."""
    from ingest.marts.build import ensure_today

    built = ensure_today()
    if built["plan"] != "none":
        click.echo(f"Cập nhật marts cho hôm nay / marts brought up to date ({built['reason']}, "
                   f"{built.get('seconds', 0):.1f} s).", err=True)


def print_status(*, province: str | None, period: str | None, show_all: bool) -> None:
    url = warehouse.warehouse_url()
    with psycopg.connect(url) as conn:
        if not _marts_exist(conn):
            click.echo("Chưa có dữ liệu: hãy chạy `lhpn run` trước. / No marts yet: run "
                       "`lhpn run` first.")
            print_unremovable(conn, province)
            return
    _answer_for_today()
    with psycopg.connect(url) as conn:
        click.secho(f"Hôm nay / today: {settings.today():%d/%m/%Y} (giờ Việt Nam / Vietnam time)",
                    bold=True)
        click.secho("Theo kỳ báo cáo / by period", bold=True)
        _table(_fetch(conn, "status_by_period", province=province, period=period), _BY_PERIOD,
               _BY_PERIOD_HEADERS)
        click.secho("\nTheo tỉnh / by province" + ("" if show_all else
                                                  " (received only; --all adds missing)"),
                    bold=True)
        _table(_fetch(conn, "status_rows", province=province, period=period, show_all=show_all),
               ["province_code", "province_name", "period", "status_label", "latest_version",
                "first_received_at", "on_time", "days_late"])
        click.echo("  (thời gian theo giờ Việt Nam / times are Vietnam time, "
                   f"{settings.LOCAL_TIME_ZONE})")
        print_unremovable(conn, province)


def print_unremovable(conn: psycopg.Connection, province: str | None) -> None:
    """Processed files the inbox does not let go: the operator removes them by hand."""
    rows = _fetch(conn, "unremovable_files", province=province)
    if not rows:
        return
    click.secho(f"\nĐã xử lý nhưng không xoá được khỏi hộp thư (các lần chạy sau bỏ qua) / "
                f"processed, not removable from the inbox (later runs skip them): {len(rows)}",
                bold=True)
    _table(rows, ["province_code", "source_file", "reason", "recorded_at"])


def print_round(period: str, *, province: str | None = None) -> None:
    """`lhpn status --round PERIOD`: one reporting round from marts.reporting_rounds, then its
    provinces from marts.submission_status (nothing re-counted here)."""
    from ingest.periods import parse_period

    parsed = parse_period(period)
    if parsed is None or parsed.kind not in ("annual", "half_year"):
        raise click.UsageError(f"'{period}' không phải một đợt báo cáo (YYYY hoặc YYYY-6T) / is "
                               "no reporting round: give YYYY or YYYY-6T.")
    url = warehouse.warehouse_url()
    with psycopg.connect(url) as conn:
        if not _marts_exist(conn):
            click.echo("Chưa có dữ liệu: hãy chạy `lhpn run` trước. / No marts yet: run "
                       "`lhpn run` first.")
            return
    _answer_for_today()
    with psycopg.connect(url) as conn:
        rounds = _fetch(conn, "round_summary", period=parsed.code)
        if not rounds:
            click.echo(f"Đợt {parsed.code} chưa bắt đầu (hôm nay {settings.today():%d/%m/%Y}) / "
                       f"round {parsed.code} has not begun yet.")
            return
        r = rounds[0]
        due = r["days_to_due"]
        days = f"{abs(due)} day" + ("" if abs(due) == 1 else "s")
        when = (f"còn {due} ngày / {days} to go" if due > 0 else
                "hôm nay là hạn / due today" if due == 0 else
                f"quá hạn {-due} ngày / {days} past due")
        click.secho(f"Đợt báo cáo / reporting round {r['period']} — hạn nộp / due "
                    f"{r['due_date']:%d/%m/%Y} ({when}); hôm nay / today "
                    f"{r['status_date']:%d/%m/%Y} (giờ Việt Nam / Vietnam time)", bold=True)
        click.echo(f"  Phải nộp / expected {r['provinces_expected']} | đã gửi / received "
                   f"{r['received']} | đã nhận / accepted {r['accepted']} (có cảnh báo / with "
                   f"warnings {r['accepted_with_warnings']}) | bị từ chối / rejected "
                   f"{r['rejected']} | chưa gửi, quá hạn / missing {r['missing']} | chưa đến hạn /"
                   f" not yet due {r['not_due']} | muộn, kể cả chưa gửi / late, incl. missing "
                   f"{r['late']}")
        _table(_fetch(conn, "status_rows", province=province, period=parsed.code, show_all=True),
               ["province_code", "province_name", "status_label", "latest_version",
                "first_received_at", "on_time", "days_late"])
        click.echo("  (thời gian theo giờ Việt Nam / times are Vietnam time, "
                   f"{settings.LOCAL_TIME_ZONE})")


def remind_command(*, dry_run: bool) -> None:
    """`lhpn remind [--dry-run]`: the reminders of contract §9 due today."""
    from ingest.outbox.reminders import write_reminders

    _answer_for_today()
    done = write_reminders(dry_run=dry_run)
    if dry_run:
        for notice in done["notices"]:
            click.secho(f"--- {notice['path']}", bold=True)
            click.echo(notice["text"])
    click.echo(f"Hôm nay / today {settings.today():%d/%m/%Y}: {len(done['notices'])} nhắc nhở / "
               f"reminders due ({', '.join(done['rounds']) or 'không đợt nào / no round'}); "
               + ("chạy thử, không ghi gì / dry run, nothing written" if dry_run else
                  f"ghi mới / written {done['written']}, không đổi / unchanged "
                  f"{done['unchanged']}, rút lại / withdrawn {done['withdrawn']}"))
    if done["provinces"]:
        click.echo("  Tỉnh được nhắc / provinces reminded: " + " ".join(done["provinces"]))
    if done["notified"]:
        click.echo("  Đã gửi thư báo tỉnh quá hạn cho người vận hành / operators mailed the late"
                   " provinces (LHPN_NOTIFY_TO)")
