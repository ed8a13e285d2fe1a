"""Reminders (contract §9): the warehouse reminds the offices of a reporting round unasked.

For every open round whose reminder stage has begun (`T-14`, `T-3` before the due date, `T+1`
after it; `marts.reporting_rounds.reminder_stage`) and every province with nothing accepted for
it (`marts.submission_status`), `<outbox>/<code>/nhac_nho_<period>_<stage>.txt`: Vietnamese
first, then English; the period, the due date, what is missing or which rejected file still
needs fixing (with its errors), and beside it the pre-filled template for the period
(`ingest.template.write_beside`, the workbook of `lhpn template`).

One notice per province, period and stage, written atomically and only when its text changes;
withdrawn (deleted, with the template beside it) once the province's report for the period is
accepted. Which rounds, stages and provinces is decided in dbt against today (LHPN_TODAY
where set); nothing is recounted here. `lhpn remind` and the `lhpn_calendar` DAG call
`write_reminders`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from ingest import settings, warehouse
from ingest.model import Finding
from ingest.periods import parse_period
from ingest.warehouse import query

_NAME = re.compile(r"^nhac_nho_(?P<period>.+)_(?P<stage>T-14|T-3|T\+1)\.txt$")


def notice_name(period: str, stage: str) -> str:
    return f"nhac_nho_{period}_{stage}.txt"


def _fetch(conn: psycopg.Connection, name: str, **params) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query(name), params).fetchall()


# ---------------------------------------------------------------- the text (one place)

_TEXT = {
    "vi": {
        "title": "NHẮC NHỞ NỘP BÁO CÁO",
        "province": "Tỉnh", "period": "Kỳ báo cáo", "due": "Hạn nộp",
        "stage": {"T-14": "còn 14 ngày đến hạn", "T-3": "còn 3 ngày đến hạn",
                  "T+1": "ĐÃ QUÁ HẠN"},
        "missing": "Tình trạng: kho dữ liệu chưa nhận được báo cáo kỳ {period} của tỉnh.",
        "rejected": "Tình trạng: tệp \"{file}\" (nhận lúc {when}, giờ Việt Nam) bị từ chối vì các"
                    " lỗi dưới đây; số liệu kỳ {period} của tỉnh CHƯA được nhận. Hãy sửa các lỗi"
                    " rồi gửi lại.",
        "todo": "Việc cần làm: điền mẫu báo cáo đặt cạnh thông báo này ({template}) và chép tệp"
                " vào thư mục {code}/ của hộp thư. Đã gửi rồi thì không cần làm gì: thông báo"
                " này tự được rút lại khi báo cáo được nhận.",
        "todo_rejected": "Việc cần làm: sửa tệp đã gửi (hoặc điền mẫu báo cáo đặt cạnh thông báo"
                         " này, {template}) rồi chép vào thư mục {code}/ của hộp thư. Thông báo"
                         " này tự được rút lại khi báo cáo được nhận.",
    },
    "en": {
        "title": "REPORT REMINDER",
        "province": "Province", "period": "Period", "due": "Due date",
        "stage": {"T-14": "14 days to go", "T-3": "3 days to go", "T+1": "OVERDUE"},
        "missing": "Status: the warehouse has not received the province's report for {period}.",
        "rejected": "Status: file \"{file}\" (received {when}, Vietnam time) was rejected for the"
                    " errors below; the province's figures for {period} are NOT taken in yet. Fix"
                    " the errors and send it again.",
        "todo": "What to do: fill in the pre-filled template beside this notice ({template}) and"
                " copy it into the inbox folder {code}/. Already sent? Nothing to do: this notice"
                " is withdrawn once the report is accepted.",
        "todo_rejected": "What to do: correct the file you sent (or fill in the pre-filled"
                         " template beside this notice, {template}) and copy it into the inbox"
                         " folder {code}/. This notice is withdrawn once the report is accepted.",
    },
}


def render(target: dict, findings: list[Finding], template: str) -> str:
    """The notice of one province, period and stage: Vietnamese, then English."""
    from ingest.outbox import text

    return text.render("reminder.txt.j2", T=_TEXT, target=target, found=findings,
                       template=template)


# ---------------------------------------------------------------- entry points

def _findings(conn: psycopg.Connection, ids: list[int]) -> dict[int, list[Finding]]:
    found: dict[int, list[Finding]] = defaultdict(list)
    for r in _fetch(conn, "receipt_findings", submission_ids=ids):
        if r["severity"] == "error":
            found[r["submission_id"]].append(Finding(
                rule=r["rule"], severity=r["severity"], message_vi=r["message_vi"],
                message_en=r["message_en"], sheet=r["sheet"], excel_row=r["excel_row"],
                column=r["column_header"], value=r["value"], expected_vi=r["expected_vi"],
                expected_en=r["expected_en"]))
    return found


def due_rounds() -> list[dict]:
    """The rounds with reminders due today and their provinces (for the DAG's mapped tasks)."""
    with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as conn:
        targets = _fetch(conn, "reminder_targets", period=None)
    rounds: dict[str, dict] = {}
    for t in targets:
        entry = rounds.setdefault(t["period"], {"period": t["period"],
                                                "stage": t["reminder_stage"], "provinces": []})
        entry["provinces"].append(t["province_code"])
    return list(rounds.values())


def write_reminders(period: str | None = None, *, dry_run: bool = False,
                    outbox: Path | None = None) -> dict:
    """Write today's notices (of one round, or of every round with a stage due) and withdraw
    those whose report is accepted. Returns the notices (path, text), counts, the rounds and the
    provinces reminded. `dry_run` writes and deletes nothing."""
    from ingest.receive.archive import write_if_changed
    from ingest.template import file_name, write_beside

    outbox = outbox or settings.home().outbox
    with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as conn:
        targets = _fetch(conn, "reminder_targets", period=period)
        accepted = {(r["province_code"], r["period"])
                    for r in _fetch(conn, "reminder_accepted")}
        findings = _findings(conn, sorted({t["rejected_submission_id"] for t in targets
                                           if t["rejected_submission_id"] is not None}))
    notices, written, unchanged, late = [], 0, 0, []
    by_period: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        code = t["province_code"]
        template = file_name(code, parse_period(t["period"]))
        path = outbox / code / notice_name(t["period"], t["reminder_stage"])
        text = render(t, findings.get(t["rejected_submission_id"], []), template)
        notices.append({"path": str(path), "text": text, "province_code": code,
                        "period": t["period"], "stage": t["reminder_stage"]})
        by_period[t["period"]].append(code)
        if not dry_run:
            if write_if_changed(path, text.encode("utf-8")):
                written += 1
                if t["reminder_stage"] == "T+1":
                    late.append(t)
            else:
                unchanged += 1
    if not dry_run:
        for round_period, codes in by_period.items():
            write_beside(round_period, codes, outbox)
    withdrawn = withdraw_accepted(period, dry_run=dry_run, outbox=outbox, accepted=accepted)
    notified = notify_late(late) if late else False
    return {
        "notices": notices, "written": written, "unchanged": unchanged, "withdrawn": withdrawn,
        "notified": notified,
        "rounds": [f"{p} {next(n['stage'] for n in notices if n['period'] == p)}"
                   for p in by_period],
        "provinces": sorted({n["province_code"] for n in notices}),
    }


def notify_late(late: list[dict]) -> bool:
    """Mail the operators the provinces whose T+1 notice was just written (late with a report),
    once per notice since a notice is rewritten only when its text changes; off unless
    configured (`ingest.outbox.mail`, contract §9). True when a mail went out."""
    from ingest.outbox.mail import send

    periods = sorted({t["period"] for t in late})
    lines = [f"  {t['period']}  {t['province_code']} {t['province_name']}: "
             f"{'bị từ chối / rejected' if t['status'] == 'rejected' else 'chưa gửi / missing'}"
             f" (hạn / due {t['due_date']:%d/%m/%Y})" for t in late]
    body = ("Các tỉnh sau đã quá hạn nộp báo cáo; thông báo nhắc nhở đã được đặt trong hộp thư của"
            " từng tỉnh.\nThese provinces are past the due date; a reminder is in each one's"
            " outbox.\n\n" + "\n".join(lines) + "\n")
    return send(f"[lhpn] {len(late)} tỉnh quá hạn / provinces late: {', '.join(periods)}", body)


def withdraw_accepted(period: str | None = None, *, dry_run: bool = False,
                      outbox: Path | None = None,
                      accepted: set[tuple[str, str]] | None = None) -> int:
    """Delete the notices of every (province, period) whose report is now accepted (§9); return
    how many. Called by `write_reminders` and after every marts build (`ingest.publish`)."""
    outbox = outbox or settings.home().outbox
    notices = [(path, _NAME.match(path.name)) for path in sorted(outbox.glob("*/nhac_nho_*.txt"))]
    notices = [(path, m) for path, m in notices
               if m and (period is None or m["period"] == period)]
    if not notices:
        return 0
    if accepted is None:
        with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as conn:
            if not conn.execute("select to_regclass('marts.submission_status') is not null"
                                ).fetchone()[0]:
                return 0
            accepted = {(r["province_code"], r["period"])
                        for r in _fetch(conn, "reminder_accepted")}
    from ingest.template import file_name

    withdrawn = 0
    for path, m in notices:
        if (path.parent.name, m["period"]) in accepted:
            if not dry_run:
                path.unlink(missing_ok=True)
                # the pre-filled template the reminder wrote beside it goes with it: only the
                # reminder's own name for this province and period (`write_beside`)
                p = parse_period(m["period"])
                if p is not None:
                    (path.parent / file_name(path.parent.name, p)).unlink(missing_ok=True)
            withdrawn += 1
    return withdrawn


def label(done: dict) -> str:
    """The DAG's task label: the round and the provinces reminded."""
    if not done["notices"]:
        return "no reminder due"
    return "; ".join(f"{r}: " + " ".join(sorted({n['province_code'] for n in done['notices']
                                                 if n['period'] == r.split()[0]}))
                     for r in done["rounds"])
