"""Receipts (contract §3): every dropped file gets an answer in `outbox/<province_code>/`.

`<outbox>/<province_code>/<original name>.receipt.txt`, UTF-8, Vietnamese first, then English:
the outcome and when, the period, the version and the one it supersedes (or, for a duplicate,
when and as which version the same bytes were first received), the rows taken in per sheet, the
errors and warnings placed as in the quarantine report, and for a loaded file, once the marts
hold it, the province's figures for the period (scorecard, cluster rank, poverty support) and a
link to the province page. The text is laid out by the Jinja templates beside this module
(`templates/receipt.txt.j2`, `templates/unrecorded.txt.j2`) from the phrases in `_TEXT`, with
the pages' filters (`ingest/formats.py`), the one table of labels (`ingest/labels.py`) and the
report's finding formatter.

A receipt is a function of the warehouse (raw, audit and the marts), so `write_receipts` (end
of every ingest run) and `refresh_receipts` (after every marts build) render it the same way,
and a file is rewritten only when its text changes. Each dropped name has one receipt: a later
file with the same name (a corrected version, a duplicate) gets the receipt that name now
deserves.

Decided here (beyond §3's four outcomes):
- a file left for a later run (`deferred`) gets a short receipt saying it is waiting and will be
  taken in by the next run; a file that met a system failure (`failed`) gets one saying it is
  not the file's fault and it will be processed again; neither needs re-sending;
- a file dropped at the top of the inbox, or in a folder that is no province code, is answered
  in `<outbox>/_khong_ro_tinh/` (the operator passes it on);
- times are Vietnam time (`settings.LOCAL_TIME_ZONE`), the clerks' clock.
"""

from __future__ import annotations

import hashlib
import logging
import os
import traceback
from collections import defaultdict
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import psycopg
from psycopg.rows import kwargs_row

from ingest import settings
from ingest.labels import LOADED, OUTCOMES
from ingest.local_time import now as vietnam_now
from ingest.model import Finding
from ingest.outbox import text as outbox_text
from ingest.periods import parse_period
from ingest.receive.archive import FolderWriter
from ingest.receive.inbox import parts_below
from ingest.receive.names import display_name, local_path, sidecar_name
from ingest.reference import canonical_term, province_name, provinces_new, provinces_old
from ingest.validate.report import outcome_text as outcome_text  # how a receipt says an outcome
from ingest.warehouse import query

log = logging.getLogger(__name__)

SUFFIX = ".receipt.txt"
UNKNOWN_FOLDER = "_khong_ro_tinh"  # files whose folder names no province


# ---------------------------------------------------------------- where receipts go

def outbox_folder(folder_province: str | None) -> str:
    """The outbox folder answering a file dropped in inbox folder `folder_province`."""
    code = folder_province or ""
    return code if code in provinces_old() or code in provinces_new() else UNKNOWN_FOLDER


def receipt_path(folder_province: str | None, source_file: str,
                 outbox: Path | None = None, path: str | None = None,
                 data_home: settings.Home | None = None) -> Path:
    """Where the receipt of a dropped file goes. With `path` (the exact inbox path, as the
    ingest log keeps it) every sender gets its own: a name that had to be escaped to be shown
    gets a short hash of its bytes (two names that display alike stay apart), and a folder that
    names no province gets its own folder under `_khong_ro_tinh/`. `data_home`: the one a
    caller writing many receipts looked up once."""
    if not path:
        outbox = outbox or (data_home or settings.home()).outbox
        return outbox / outbox_folder(folder_province) / sidecar_name(source_file, SUFFIX)
    data_home = data_home or settings.home()
    outbox = outbox or data_home.outbox
    local = Path(local_path(path))
    parts = parts_below(local, data_home.inbox)
    if parts:
        folder = parts[0] if len(parts) > 1 else ""
    else:
        folder = local.parent.name
    code = outbox_folder(folder)
    name = sidecar_name(_shown(local.name), SUFFIX)
    if code == UNKNOWN_FOLDER and folder:
        return outbox.joinpath(code, _shown(folder), name)
    return outbox.joinpath(code, name)


def _shown(name: str) -> str:
    """`name` as a receipt's name shows it: itself when it is plain printable text, else its
    escaped form and a short hash of its bytes (`BC\\xff~1a2b3c4d.xlsx`), so two names that
    escape alike never share a receipt. Leading and trailing spaces count as escaped."""
    shown = display_name(name).strip() or "_"
    if shown == name and shown not in (".", ".."):
        return shown
    tag = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
    stem, dot, suffix = shown.rpartition(".")
    if dot and stem and suffix.isalnum() and len(suffix) <= 8:
        return f"{stem}{tag}.{suffix}"
    return shown + tag


# ---------------------------------------------------------------- reading the warehouse

class Row(SimpleNamespace):
    """A row of the warehouse as receipts read it: by name (`r["period"]`) in Python, by
    attribute in the templates (`r.period`: Jinja finds an attribute at once, where a dict's
    key costs it a failed attribute lookup first; the templates read ~100 per receipt, ~400
    when it quotes the marts)."""

    def __getitem__(self, name: str):
        return self.__dict__[name]


def _fetch(conn: psycopg.Connection, name: str, **params) -> list[Row]:
    with conn.cursor(row_factory=kwargs_row(Row)) as cur:
        return cur.execute(query(name), params).fetchall()


def _subjects(conn: psycopg.Connection, shas: list[str] | None, loaded_only: bool) -> list[Row]:
    return _fetch(conn, "receipt_subjects", sha256=shas, loaded_only=loaded_only)


def _details(conn: psycopg.Connection, subjects: list[Row]) -> dict:
    """Rows per sheet, findings and mart figures of the subjects' submissions, in a few queries."""
    ids = sorted({s["submission_id"] for s in subjects if s["submission_id"] is not None})
    rows: dict[int, list[Row]] = defaultdict(list)
    order = ("ChiTieu", "ThiDua", "GiamNgheo")  # the sheets in the template's order
    for r in sorted(_fetch(conn, "receipt_sheet_rows", submission_ids=ids),
                    key=lambda r: order.index(r["sheet"])):
        rows[r["submission_id"]].append(r)
    skipped: dict[int, list[str]] = defaultdict(list)
    for r in _fetch(conn, "receipt_skipped_rows", submission_ids=ids):
        skipped[r["submission_id"]].append(r["indicator_code"])
    findings: dict[int, list[Finding]] = defaultdict(list)
    for r in _fetch(conn, "receipt_findings", submission_ids=ids):
        findings[r["submission_id"]].append(Finding(
            rule=r["rule"], severity=r["severity"], message_vi=r["message_vi"],
            message_en=r["message_en"], sheet=r["sheet"], excel_row=r["excel_row"],
            column=r["column_header"], value=r["value"], expected_vi=r["expected_vi"],
            expected_en=r["expected_en"]))
    marts: dict[str, dict] = {}
    if ids and conn.execute(query("receipt_marts_ready")).fetchone()[0]:
        marts["timing"] = {r["submission_id"]: r
                           for r in _fetch(conn, "receipt_timing", submission_ids=ids)}
    loaded = [s for s in subjects if s["outcome"] in LOADED and s["period"]]
    pairs = sorted({(s["province_code"], s["period"]) for s in loaded})
    if pairs and conn.execute(query("receipt_marts_ready")).fetchone()[0]:
        marts["versions"] = versions = {
            (r["province_code"], r["period"]): r
            for r in _fetch(conn, "receipt_versions", province_code=[p for p, _ in pairs],
                            period=[q for _, q in pairs])}
        # the figures only of the periods whose receipts quote them (right after a run, none)
        quoting = [s for s in loaded
                   if _quotes_figures(s, versions.get((s["province_code"], s["period"])))]
        marts["quoting"] = {s["submission_id"] for s in quoting}
        pairs = sorted({(s["province_code"], s["period"]) for s in quoting})
        keys = {"province_code": [p for p, _ in pairs], "period": [q for _, q in pairs]}
        for name in ("scorecards", "rankings", "poverty", "former_provinces"):
            marts[name] = {(r["province_code"], r["period"]): r
                           for r in _fetch(conn, f"receipt_{name}", **keys)} if pairs else {}
        indicators: dict[tuple, list[Row]] = defaultdict(list)
        for r in _fetch(conn, "receipt_attainment", **keys) if pairs else ():
            indicators[(r["province_code"], r["period"])].append(r)
        marts["indicators"] = indicators
    return {"rows": rows, "skipped": skipped, "findings": findings, "marts": marts}


def _quotes_figures(s: Row, known: Row | None) -> bool:
    """Whether the receipt of loaded subject `s` quotes its province's figures: it is not
    superseded, and the marts hold its own file (`known`, its period's row of
    `receipt_versions`: built after it was loaded). Otherwise it says they will come."""
    return (s["superseded_by_version"] is None and known is not None
            and (known["latest_version"] or 0) >= (s["version"] or 0)
            and known["latest_received_at"] is not None
            and not known["latest_received_at"] < s["received_at"])


# ---------------------------------------------------------------- the text

_TEXT = {
    "vi": {
        "title": "BIÊN NHẬN BÁO CÁO",
        "file": "Tệp", "province": "Tỉnh", "period": "Kỳ báo cáo", "term": "Nhiệm kỳ",
        "term_written": "ghi trong tệp: {term}",
        "outcome": "Kết quả", "when": "Thời điểm", "version": "Phiên bản",
        "received_processed": "nhận tệp {received}; xử lý xong {processed} (giờ Việt Nam)",
        "at": "{when} (giờ Việt Nam)",
        "first_version": "{v} (bản đầu tiên của tỉnh cho kỳ này)",
        "supersedes": "{v}, thay cho phiên bản {old} (tệp \"{file}\", nhận {when})",
        "superseded": "Lưu ý: bản này đã được thay bằng phiên bản {new} (tệp \"{file}\", nhận "
                      "{when}); số liệu của kỳ này nay lấy từ bản đó.",
        "not_versioned": "không có (tệp bị từ chối, không thành một phiên bản)",
        "first_received": "Cùng nội dung (từng byte) đã nhận lần đầu lúc {when}: tệp \"{file}\","
                          " {as_what}. Tệp gửi lại đã được bỏ qua; không cần làm gì thêm.",
        "first_elsewhere": "Cùng nội dung (từng byte) đã được nhận lúc {when} từ một thư mục "
                           "khác của hộp thư. Tệp gửi lại đã được bỏ qua.",
        "as_version": "phiên bản {v}", "as_rejected": "khi đó bị từ chối",
        "taken": "Số dòng đã nhận", "rows": "{n} dòng", "units": "{n} dòng đơn vị",
        "total_rows": "{n} dòng tổng", "nothing_taken": "không nhận dòng nào (tệp bị từ chối)",
        "none": "không có",
        "todo_accepted": "Việc cần làm: không cần làm gì thêm.",
        "todo_accepted_with_warnings": "Việc cần làm: hãy xem các cảnh báo dưới đây; nếu số liệu"
                                       " sai, gửi tệp đã sửa (bản mới thay bản cũ).",
        "todo_rejected": "Việc cần làm: số liệu CHƯA được nhận. Hãy sửa các lỗi dưới đây rồi gửi"
                         " lại tệp vào thư mục {folder} của hộp thư.",
        "todo_rejected_dup": "Việc cần làm: tệp này vẫn còn các lỗi dưới đây; hãy sửa rồi gửi"
                             " lại tệp đã sửa vào thư mục {folder} của hộp thư.",
        "deferred_text": "Tệp vừa được chép vào hộp thư và có thể còn đang được ghi, nên để lại"
                         " cho lần xử lý sau. Không cần gửi lại: tệp sẽ được xử lý ở lần chạy"
                         " tới và biên nhận này sẽ được thay bằng kết quả.",
        "failed_text": "Hệ thống gặp sự cố khi xử lý tệp (không phải lỗi của tệp). Tệp vẫn nằm"
                       " trong hộp thư và sẽ được xử lý lại ở lần chạy sau; người quản trị thấy"
                       " lỗi này trong kết quả lần chạy. Không cần gửi lại.",
        "refused_text": "Đây không phải là một tệp thông thường (lối tắt, thư mục hay tệp đặc biệt)"
                        " nên không được đọc. Hãy chép chính tệp báo cáo (.xlsx, .xls, .ods,"
                        " .csv) vào thư mục của tỉnh.",
        "figures": "Số liệu của tỉnh kỳ {period} trong kho dữ liệu (đã tính tệp này):",
        "figures_pending": "Số liệu tổng hợp của tỉnh (chỉ tiêu, xếp hạng thi đua, giảm nghèo)"
                           " sẽ được ghi vào biên nhận này sau khi kho dữ liệu được cập nhật.",
        "scorecard": "Chỉ tiêu nghị quyết nhiệm kỳ {term}: {label} chỉ tiêu đạt hoặc vượt",
        "not_met": "{n} chưa đạt", "not_reported": "{n} chưa báo cáo kết quả",
        "no_result": "chưa có kết quả",
        "skipped": "{n} dòng chỉ tiêu để trống đã bỏ qua: {codes} (không có chỉ tiêu và kết quả:"
                   " không phải chỉ tiêu của nghị quyết tỉnh, không tính vào tổng số)",
        "former": "{name} (tỉnh từ 01/07/2025), kỳ {period}: {reported}/{expected} tỉnh cũ đã"
                  " báo cáo giảm nghèo",
        "former_partial": "; số cộng của tỉnh mới chưa đủ",
        "of_target": "kết quả {actual} / chỉ tiêu {target}",
        "rank": "Thi đua năm {year}, cụm \"{cluster}\": hạng {rank}/{n} (trong {n} tỉnh của cụm"
                " đã có điểm năm {year}); {score}/{max} điểm",
        "no_cluster": "Thi đua năm {year}: {score}/{max} điểm; tỉnh chưa có trong cụm thi đua"
                      " nào của năm {year} nên chưa xếp hạng trong cụm",
        "poverty": "Giảm nghèo",
        "out_of_poverty": "{out} hộ thoát nghèo / {poor} hộ nghèo đầu kỳ",
        "near": "{n} hộ thoát cận nghèo", "female": "{n} hộ phụ nữ làm chủ hộ thoát nghèo",
        "homes": "{n} mái ấm tình thương", "homes_vnd": "{n} triệu đồng",
        "loans": "{n} hộ vay vốn NHCSXH", "loans_vnd": "dư nợ ủy thác {n} triệu đồng",
        "livelihood": "{n} suất sinh kế", "clean": "{n} hộ đạt 5 không 3 sạch",
        "page": "Trang của tỉnh", "site": "Trang tổng hợp",
        "findings_of_first": "(các lỗi và cảnh báo dưới đây là của lần nhận đầu)",
        "due": "Hạn nộp kỳ {period}: {due}",
        "no_due": "Hạn nộp: không có (báo cáo rà soát giữa / cuối nhiệm kỳ)",
        "on_time": "tệp nhận ĐÚNG HẠN",
        "late": "tệp nhận MUỘN {days} ngày",
        "backfill": "nhập bù dữ liệu cũ, không xét đúng hạn",
        "in_use": "Kho dữ liệu vẫn dùng phiên bản {v} (tệp \"{file}\", nhận {when}) cho kỳ này.",
        "none_in_use": "Kho dữ liệu chưa có phiên bản nào được nhận cho kỳ này: kỳ này vẫn tính"
                       " là chưa nộp.",
    },
    "en": {
        "title": "REPORT RECEIPT",
        "file": "File", "province": "Province", "period": "Period", "term": "Term",
        "term_written": "as written in the file: {term}",
        "outcome": "Outcome", "when": "When", "version": "Version",
        "received_processed": "file received {received}; processed {processed} (Vietnam time)",
        "at": "{when} (Vietnam time)",
        "first_version": "{v} (the province's first for this period)",
        "supersedes": "{v}, superseding version {old} (file \"{file}\", received {when})",
        "superseded": "Note: this version has since been superseded by version {new} (file "
                      "\"{file}\", received {when}); the period's figures now come from it.",
        "not_versioned": "none (a rejected file does not become a version)",
        "first_received": "The same content (byte for byte) was first received at {when}: file "
                          "\"{file}\", {as_what}. This copy was set aside; nothing to do.",
        "first_elsewhere": "The same content (byte for byte) was received at {when} from "
                           "another inbox folder. This copy was set aside.",
        "as_version": "version {v}", "as_rejected": "rejected then",
        "taken": "Rows taken in", "rows": "{n} rows", "units": "{n} unit rows",
        "total_rows": "{n} total row(s)", "nothing_taken": "none (the file was rejected)",
        "none": "none",
        "todo_accepted": "What to do: nothing.",
        "todo_accepted_with_warnings": "What to do: review the warnings below; if a figure is "
                                       "wrong, send a corrected file (it replaces this one).",
        "todo_rejected": "What to do: the data was NOT taken in. Fix the errors below and drop "
                         "the file again into the inbox folder {folder}.",
        "todo_rejected_dup": "What to do: this file still has the errors below; fix them and drop"
                             " the corrected file into the inbox folder {folder}.",
        "deferred_text": "The file had just been copied into the inbox and may still have been "
                         "being written, so it was left for the next run. No need to send it "
                         "again: the next run takes it in and replaces this receipt.",
        "failed_text": "The system failed while processing the file (not a fault of the file). "
                       "It stays in the inbox and will be processed again by the next run; the "
                       "operator sees the error in the run's output. No need to send it again.",
        "refused_text": "This is not a regular file (a link, a folder or a special file), so it "
                        "was not read. Copy the report file itself (.xlsx, .xls, .ods, .csv) "
                        "into the province's folder.",
        "figures": "The province's figures for {period} as the warehouse now holds them "
                   "(including this file):",
        "figures_pending": "The province's figures (scorecard, emulation rank, poverty support) "
                           "will be added to this receipt once the warehouse is updated.",
        "scorecard": "Term indicators {term}: {label} met or exceeded",
        "not_met": "{n} not met", "not_reported": "{n} not reported yet",
        "no_result": "no result yet",
        "skipped": "{n} blank indicator row(s) skipped: {codes} (neither a target nor a result:"
                   " not an indicator of the province's resolution, not counted in the total)",
        "former": "{name} (province from 1 July 2025), {period}: {reported}/{expected} former "
                  "provinces have reported poverty support",
        "former_partial": "; the new province's sum is still partial",
        "of_target": "result {actual} / target {target}",
        "rank": "Emulation {year}, cluster \"{cluster}\": rank {rank}/{n} (among the {n} "
                "provinces of the cluster scored for {year}); {score}/{max} points",
        "no_cluster": "Emulation {year}: {score}/{max} points; the province is in no emulation "
                      "cluster for {year}, so it has no cluster rank",
        "poverty": "Poverty support",
        "out_of_poverty": "{out} households out of poverty / {poor} poor at period start",
        "near": "{n} out of near-poverty", "female": "{n} female-headed out of poverty",
        "homes": "{n} charity homes", "homes_vnd": "{n} million VND",
        "loans": "{n} households with policy-bank loans",
        "loans_vnd": "{n} million VND outstanding", "livelihood": "{n} livelihood packages",
        "clean": "{n} households meeting \"5 no, 3 clean\"",
        "page": "Province page", "site": "Overview pages",
        "findings_of_first": "(the errors and warnings below are those of the first receipt)",
        "due": "Due date for {period}: {due}",
        "no_due": "Due date: none (a mid-term or end-of-term review)",
        "on_time": "the file came ON TIME",
        "late": "the file came {days} day(s) LATE",
        "backfill": "a backfill of history, not judged on time",
        "in_use": "The warehouse still uses version {v} (file \"{file}\", received {when}) for this"
                  " period.",
        "none_in_use": "The warehouse has no accepted version for this period yet: it still counts"
                       " as not sent.",
    },
}


def _links(folder: Path, province: str | None, data_home: settings.Home) -> dict[str, str]:
    """The province's page as the clerk can open it, in both languages: on the served site
    (LHPN_SITE_URL), else the copy in her own outbox folder (contract §3, §6)."""
    return dict(_link_texts(folder, province, data_home, settings.site_url()))


@lru_cache(maxsize=4096)  # the same few per run: one per outbox folder and province
def _link_texts(folder: Path, province: str | None, data_home: settings.Home,
                url: str | None) -> tuple[tuple[str, str], ...]:
    from ingest.pages.province import page_path
    from ingest.pages.site import outbox_page

    known = province and outbox_folder(province) != UNKNOWN_FOLDER
    if url:
        where = f"{url}/{page_path(province)}" if known else f"{url}/index.html"
    elif known:
        where = os.path.relpath(outbox_page(province, data_home.outbox), folder)
    else:
        where = os.path.relpath(data_home.site / "index.html", folder)
    key = "page" if known else "site"
    return tuple((lang, f"{_TEXT[lang][key]}: {where}") for lang in ("vi", "en"))


def _term(written: str | None, lang: str) -> str:
    """The term as stored (seed term_labels: 2021-2025 is 2021-2026, the label the scorecard
    line uses), and once, the label typed in the file where it differs."""
    written = (written or "").strip()
    stored = canonical_term(written)
    if not stored:
        return "?"
    if stored == written:
        return stored
    return f"{stored} ({_TEXT[lang]['term_written'].format(term=written)})"


@lru_cache(maxsize=4096)  # the reference lists are read once per process as well
def _province(code: str | None, period: str | None) -> str:
    """`60 Bình Thuận`: the province as the receipt names it, by the codes of its period."""
    if not code:
        return "?"
    name = province_name(code, parse_period(period))
    return f"{code} {name}" if name else code


def _context(s: Row, details: dict, folder: Path, data_home: settings.Home) -> dict:
    """What the templates quote about one subject, gathered from `_details`."""
    key = (s["province_code"], s["period"])
    marts = details["marts"]
    loaded = s["outcome"] in LOADED
    return {
        "quotes_figures": loaded and s["submission_id"] in marts.get("quoting", ()),
        "card": marts.get("scorecards", {}).get(key),
        "indicators": marts.get("indicators", {}).get(key, []),
        "rank": marts.get("rankings", {}).get(key),
        "poverty": marts.get("poverty", {}).get(key),
        "former": marts.get("former_provinces", {}).get(key),
        "timing": marts.get("timing", {}).get(s["submission_id"]),
        "rows": details["rows"].get(s["submission_id"], []),
        "skipped": details["skipped"].get(s["submission_id"]),
        "findings": details["findings"].get(s["submission_id"], []),
        "term": {lang: _term(s["term"], lang) for lang in ("vi", "en")},
        "link": (_links(folder, s["province_code"], data_home) if loaded
                 else {"vi": "", "en": ""}),
    }


def render(s: Row, details: dict, folder: Path, data_home: settings.Home | None = None) -> str:
    """The receipt of one recorded file (a row of `receipt_subjects`)."""
    code = s["folder_province"] or s["declared_province_code"]  # the sender's folder first
    own = s["province_code"] == s["folder_province"]
    # the context as attributes too (see `Row`)
    return outbox_text.macro("receipt.txt.j2", "receipt")(
        _TEXT, s, SimpleNamespace(**_context(s, details, folder, data_home or settings.home())),
        _province(code, s["period"]), s["period"] if own else None)


def render_unrecorded(result, at: datetime) -> str:
    """The receipt of a file answered without a submission of its own: left in the inbox for
    the next run, failed before it was recorded, refused unread (not a regular file) or
    rejected unread (over the size limit): the outcome, and the report when one was written."""
    event = result.event if result.event in OUTCOMES else "failed"
    return outbox_text.render(
        "unrecorded.txt.j2", T=_TEXT, event=event, source_file=result.source_file, at=at,
        province=_province(result.province_code, None), province_code=result.province_code,
        report=_report_text(result.report))


def _report_text(path: str | None) -> str | None:
    try:
        return Path(local_path(path)).read_text(encoding="utf-8") if path else None
    except (OSError, UnicodeDecodeError):
        return None


# ---------------------------------------------------------------- entry points

def write_receipts(results, conn: psycopg.Connection) -> list[Path]:
    """Write the receipt of every processed file of a run (`FileResult`s); return their paths.

    Sets `result.receipt` on each result answered. A receipt that cannot be written is logged
    and skipped (the run's data is already committed): receipts answer the run, never undo it.
    A large run's receipts are shared with a second process (`_in_two`).
    """
    data_home = settings.home()  # once: it resolves paths on the disk
    outbox = data_home.outbox
    recorded = [r for r in results if r.sha256 and r.event != "deferred"]
    try:
        subjects = {_key(s["path"], s["folder_province"], s["source_file"]): s
                    for s in _subjects(conn, sorted({r.sha256 for r in recorded}), False)}
        details = _details(conn, list(subjects.values())) if subjects else {}
    except psycopg.Error:
        # the run's data is committed; its answers are missing, and `lhpn run` says which
        log.exception("receipts of this run could not be read from the warehouse")
        subjects, details = {}, {}
    now = vietnam_now()
    answers: list[tuple[int, Path]] = []
    for i, result in enumerate(results):
        try:
            answers.append((i, receipt_path(result.province_code, result.source_file, outbox,
                                            result.path, data_home)))
        except Exception:  # noqa: BLE001 - one answer that fails never stops the others
            log.exception("receipt of %s not written", display_name(local_path(result.path)))

    def answer(part: list[tuple[int, Path]]) -> tuple[list[int], list[tuple[int, str]]]:
        """Render and write the receipts of `part`: (positions written, (position, what
        failed) of the others)."""
        texts, failed = [], []
        # all the texts first, then all the files: rendering between the writes' system calls
        # ran ~30% slower (bench corpus), the processor's caches left to the kernel each time
        for i, path in part:
            result = results[i]
            try:
                subject = subjects.get(_key(result.path, result.province_code,
                                            result.source_file))
                if subject is not None and subject["sha256"] == result.sha256 and (
                        subject["submission_id"] is not None
                        or subject["event"] in ("failed", "duplicate")):
                    texts.append((i, path, render(subject, details, path.parent, data_home)))
                elif result.event != "duplicate":
                    texts.append((i, path, render_unrecorded(result, now)))
                # else a duplicate whose log entry is gone: nothing true to say
            except Exception:  # noqa: BLE001 - one answer that fails never stops the others
                failed.append((i, traceback.format_exc()))
        done = []
        with FolderWriter(outbox) as writer:  # each outbox folder opened once
            for i, path, text in texts:
                try:
                    writer.write_if_changed(path, text)
                    done.append(i)
                except Exception:  # noqa: BLE001 - one answer that fails never stops the others
                    failed.append((i, traceback.format_exc()))
        return done, failed

    done, failed = _in_two(answers, answer)
    for i, trace in sorted(failed):
        log.error("receipt of %s not written\n%s",
                  display_name(local_path(results[i].path)), trace.rstrip())
    written: list[Path] = []
    paths = dict(answers)
    for i in sorted(done):
        if hasattr(results[i], "receipt"):
            results[i].receipt = str(paths[i])
        written.append(paths[i])
    return written


def _in_two(answers: list[tuple[int, Path]], answer):
    """`answer(answers)`, for a large run shared with a forked process (`isolated.beside`):
    each outbox folder wholly on one side, so the receipts of one name are written in the run's
    order."""
    from ingest import isolated

    if not isolated.worth_beside(len(answers)):
        return answer(answers)

    folders: dict[Path, list[tuple[int, Path]]] = defaultdict(list)
    for i, path in answers:
        folders[path.parent].append((i, path))
    here: list[tuple[int, Path]] = []
    aside: list[tuple[int, Path]] = []
    for part in sorted(folders.values(), key=len, reverse=True):
        (here if len(here) <= len(aside) else aside).extend(part)
    outbox_text.macro("receipt.txt.j2", "receipt")  # compiled once, before the fork
    mine, theirs = isolated.beside(lambda: answer(here), lambda: answer(aside), "the receipts")
    return mine[0] + theirs[0], mine[1] + theirs[1]


def _key(path: str | None, folder_province: str | None, source_file: str) -> tuple:
    """What a receipt answers for: the exact inbox path (older log entries: folder and name)."""
    return (path,) if path else (folder_province or "", source_file)


def refresh_receipts(conn: psycopg.Connection) -> int:
    """Rewrite the receipts of loaded and rejected files whose text changed (what the marts now
    hold, a later version superseding them, the due-date verdict); return how many were
    rewritten. A receipt whose file is back in the inbox waiting for a run (a corrected copy
    with the same name) is left alone: that run answers it."""
    data_home = settings.home()
    # loaded files quote the figures; rejected ones their period's due date and the version in use
    subjects = [s for s in _subjects(conn, None, False)
                if s["submission_id"] is not None and s["event"] in LOADED + ("rejected",)]
    if not subjects:
        return 0
    details = _details(conn, subjects)
    rewritten = 0
    with FolderWriter(data_home.outbox) as writer:
        for s in subjects:
            path = receipt_path(s["folder_province"], s["source_file"], data_home.outbox,
                                s["path"], data_home)
            try:
                text = render(s, details, path.parent, data_home)
            except Exception:  # noqa: BLE001 - one answer that fails never stops the others
                log.exception("receipt %s not rendered", path)
                continue
            inbox_copy = Path(local_path(s["path"])) if s["path"] else (
                data_home.inbox / s["folder_province"] / s["source_file"])
            if os.path.lexists(inbox_copy):
                continue
            try:
                rewritten += writer.write_if_changed(path, text)
            except OSError as exc:
                log.warning("receipt %s not rewritten: %s", path, exc)
    return rewritten
