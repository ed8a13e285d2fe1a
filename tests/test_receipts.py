"""Receipts (contract §3): every dropped file gets an answer in its province's outbox, and an
accepted file's receipt quotes the marts as they are now."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from psycopg.rows import dict_row

from ingest import pipeline
from ingest.local_time import VIETNAM
from ingest.outbox import receipts
from ingest.read.numbers import vn_number
from ingest.receive.archive import write_if_changed
from ingest.receive.names import display_name, sidecar_name
from ingest.validate.report import render_findings
from tests.workbooks import POVERTY, TERM, drop, report


def run():
    return pipeline.process_files(pipeline.list_inbox())


def receipt_of(home, province: str, name: str) -> str:
    path = home.outbox / province / f"{name}.receipt.txt"
    assert path.exists(), f"no receipt at {path}; outbox holds {list(home.outbox.rglob('*'))}"
    return path.read_text(encoding="utf-8")


def halves(text: str) -> tuple[str, str]:
    """The Vietnamese part and the English part of a receipt."""
    vi, en = text.split("REPORT RECEIPT\n" + "=" * 72, 1)
    return vi, en


def scored(code: str, share: float, seed: int):
    """An annual report whose emulation score is `share` of the maximum on every criterion."""
    rep = report(code, "2024", seed=seed)
    for row in rep.emulation_rows:
        row["self"], row["reviewed"] = round(row["max"] * share, 1), None
    return rep


def fetch(db, sql: str, *params) -> list[dict]:
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def test_rejected_receipt_names_sheet_row_column_and_value(home, db):
    rep = report("37", "2024", sheets=(POVERTY,))
    row = rep.poverty_rows[1]
    row["households_out_of_poverty"] = row["poor_households_start"] + 40
    drop(home.inbox, rep, "BC_37_2024.xlsx")
    [result] = run().results
    assert result.event == "rejected"

    text = receipt_of(home, "37", "BC_37_2024.xlsx")
    assert result.receipt == str(home.outbox / "37" / "BC_37_2024.xlsx.receipt.txt")
    vi, en = halves(text)
    assert text.index("BỊ TỪ CHỐI") < text.index("REJECTED")  # Vietnamese first
    assert "Kỳ báo cáo: 2024" in vi and "Period: 2024" in en
    assert "không nhận dòng nào" in vi and "none (the file was rejected)" in en
    assert "thư mục 37/" in vi
    # the same finding lines as the quarantine report, in both languages
    quarantine = (home.quarantine / "37" / "BC_37_2024.xlsx.errors.txt").read_text("utf-8")
    place = (f'Sheet GiamNgheo | dòng 6 | cột "Hộ thoát nghèo" | giá trị '
             f'"{vn_number(row["households_out_of_poverty"])}"')
    assert place in vi and place in quarantine
    assert place.replace("dòng", "row").replace("cột", "column").replace("giá trị", "value") in en
    for line in text.splitlines():
        if line.startswith("  1. "):
            assert line in quarantine


def test_accepted_with_warnings_quotes_the_warnings(home, db):
    rep = report("60", "2024", seed=3, poverty_total="wrong")
    drop(home.inbox, rep)
    [result] = run().results
    assert result.event == "accepted_with_warnings"
    text = receipt_of(home, "60", "BC_60_2024.xlsx")
    vi, en = halves(text)
    assert "ĐÃ NHẬN, CÓ CẢNH BÁO / ACCEPTED WITH WARNINGS — phiên bản / version 1" in text
    assert "CẢNH BÁO (nên kiểm tra):" in vi and "WARNINGS (please check):" in en
    report_text = Path(result.report).read_text("utf-8")
    warning_lines = [line for line in vi.splitlines() if re.match(r"\s+\d+\. Sheet", line)]
    assert warning_lines and all(line in report_text for line in warning_lines)
    assert "GiamNgheo" in warning_lines[0]
    assert "ChiTieu 8 dòng; ThiDua 8 dòng; GiamNgheo 5 dòng đơn vị + 1 dòng tổng" in vi
    assert "Phiên bản: 1 (bản đầu tiên" in vi and "Version: 1 (the province's first" in en
    # no marts build yet: the figures are announced, not invented
    assert "sau khi kho dữ liệu được cập nhật" in vi
    assert "once the warehouse is updated" in en


def test_resubmission_says_what_it_supersedes_and_duplicate_when_first_received(home, db):
    first = drop(home.inbox, report("56", "2024", seed=5))
    original = first.read_bytes()
    run()
    drop(home.inbox, report("56", "2024", seed=6), "BC_56_2024_sua.xlsx")
    [second] = run().results
    assert (second.event, second.version) == ("accepted", 2)
    received = db.execute("select received_at from raw.submissions where version = 1"
                          ).fetchone()[0]
    when = received.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
    vi, en = halves(receipt_of(home, "56", "BC_56_2024_sua.xlsx"))
    assert f'Phiên bản: 2, thay cho phiên bản 1 (tệp "BC_56_2024.xlsx", nhận {when})' in vi
    assert f'Version: 2, superseding version 1 (file "BC_56_2024.xlsx", received {when})' in en

    # the first receipt learns it was superseded once the receipts are refreshed
    assert receipts.refresh_receipts(db) >= 1
    vi, en = halves(receipt_of(home, "56", "BC_56_2024.xlsx"))
    assert 'đã được thay bằng phiên bản 2 (tệp "BC_56_2024_sua.xlsx"' in vi
    assert 'superseded by version 2 (file "BC_56_2024_sua.xlsx"' in en

    # the very same bytes as version 1, under another name
    (home.inbox / "56" / "BC_56_gui_lai.xlsx").write_bytes(original)
    [dup] = run().results
    assert dup.event == "duplicate"
    text = receipt_of(home, "56", "BC_56_gui_lai.xlsx")
    vi, en = halves(text)
    assert "TRÙNG LẶP, KHÔNG THAY ĐỔI GÌ / DUPLICATE, NOTHING CHANGED" in text
    assert f'đã nhận lần đầu lúc {when}: tệp "BC_56_2024.xlsx", phiên bản 1' in vi
    assert f'first received at {when}: file "BC_56_2024.xlsx", version 1' in en

    # the same bytes from another province's folder: that office learns nothing of province 56
    (home.inbox / "54").mkdir()
    (home.inbox / "54" / "nham.xlsx").write_bytes(original)
    assert [r.event for r in run().results] == ["duplicate"]
    text = receipt_of(home, "54", "nham.xlsx")
    assert "từ một thư mục khác" in text and "from another inbox folder" in text
    assert "BC_56" not in text and "Khánh Hòa" not in text and "Phú Yên" in text


def test_every_outcome_is_answered_even_without_a_province_folder(home, db):
    path = drop(home.inbox, report("60", "2024"))
    stray = home.inbox / "bao_cao_60.xlsx"
    path.rename(stray)
    [result] = run().results
    text = (home.outbox / receipts.UNKNOWN_FOLDER / "bao_cao_60.xlsx.receipt.txt").read_text(
        "utf-8")
    assert result.receipt and receipts.UNKNOWN_FOLDER in result.receipt
    assert f"Kết quả: {receipts.outcome_text(result.event, 'vi')}\n" in text

    # a file left for the next run, and one the system failed on, are answered too
    waiting = pipeline.FileResult("/x/60/cho.xlsx", "cho.xlsx", "60", "deferred",
                                  message="still being written; left for the next run")
    receipts.write_receipts([waiting], db)
    vi, en = halves(receipt_of(home, "60", "cho.xlsx"))
    assert "ĐANG CHỜ XỬ LÝ" in vi and "sẽ được xử lý ở lần chạy tới" in vi
    assert "WAITING" in en and "No need to send it again" in en

    # answered without being read: refused (not a regular file), rejected unread (too large)
    report_path = home.quarantine / "60" / "lon.xlsx.errors.txt"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("Tệp quá lớn (25,0 MB); giới hạn là 20 MB.\n", encoding="utf-8")
    receipts.write_receipts([
        pipeline.FileResult("/x/60/lien_ket.xlsx", "lien_ket.xlsx", "60", "refused"),
        pipeline.FileResult("/x/60/lon.xlsx", "lon.xlsx", "60", "rejected", errors=1,
                            report=str(report_path))], db)
    vi, en = halves(receipt_of(home, "60", "lien_ket.xlsx"))
    assert "KHÔNG NHẬN" in vi and "not a regular file" in en
    text = receipt_of(home, "60", "lon.xlsx")
    assert "BỊ TỪ CHỐI / REJECTED" in text and "Tệp quá lớn (25,0 MB)" in text


def test_a_file_the_system_fails_on_gets_a_receipt_saying_so(home, db, monkeypatch):
    from ingest.load import submissions

    def refuse(*args, **kwargs):
        import psycopg

        raise psycopg.errors.DiskFull("could not extend file")

    monkeypatch.setattr(submissions, "load_batch", refuse)
    drop(home.inbox, report("60", "2024"))
    [result] = run().results
    assert result.event == "failed"
    vi, en = halves(receipt_of(home, "60", "BC_60_2024.xlsx"))
    assert "LỖI HỆ THỐNG" in vi and "không phải lỗi của tệp" in vi
    assert "not a fault of the file" in en and "could not extend" not in vi + en


def test_receipts_follow_lhpn_outbox_and_link_the_province_page(home, db, tmp_path,
                                                                 monkeypatch):
    outbox = tmp_path / "shared" / "tra_loi"
    monkeypatch.setenv("LHPN_OUTBOX", str(outbox))
    drop(home.inbox, report("51", "2024"))
    [result] = run().results
    receipt = outbox / "51" / "BC_51_2024.xlsx.receipt.txt"
    assert result.receipt == str(receipt)
    link = re.search(r"^Trang của tỉnh: (.+)$", receipt.read_text("utf-8"), re.M)[1]
    # the copy of the province page in her own folder: a clerk sees nothing outside it
    assert (receipt.parent / link).resolve() == outbox / "51" / "trang_tinh.html"
    assert not (home.outbox / "51").exists()


def test_with_lhpn_site_url_receipts_link_the_served_page(home, db, monkeypatch):
    monkeypatch.setenv("LHPN_SITE_URL", "https://baocao.hoilhpn.example/trang/")
    drop(home.inbox, report("51", "2024"))
    run()
    vi, en = halves(receipt_of(home, "51", "BC_51_2024.xlsx"))
    assert "Trang của tỉnh: https://baocao.hoilhpn.example/trang/province/51.html" in vi
    assert "Province page: https://baocao.hoilhpn.example/trang/province/51.html" in en


def test_receipt_is_written_atomically_and_only_when_it_changes(home, tmp_path, monkeypatch):
    path = tmp_path / "60" / "a.xlsx.receipt.txt"
    assert write_if_changed(path, "một\n")
    before = path.stat()
    assert not write_if_changed(path, "một\n")  # same text: the file is left alone
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_ino == before.st_ino

    def crash(src, dst, **dir_fds):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_if_changed(path, "hai\n" * 10_000)
    assert path.read_text("utf-8") == "một\n"  # the old receipt, whole
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left


def test_a_writer_handed_its_folder_still_refuses_links_below_it(home, tmp_path):
    """`write_receipts` hands the outbox to the writer once (no data-home lookup per receipt):
    the folders below it are still opened one by one without following links, and a target
    that is not below the folder handed over is checked from the data home as before."""
    from ingest.receive.archive import LinkRefused

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home.outbox.mkdir(parents=True, exist_ok=True)
    (home.outbox / "70").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(LinkRefused):
        write_if_changed(home.outbox / "70" / "a.xlsx.receipt.txt", "một\n",
                                  root=home.outbox)
    assert list(elsewhere.iterdir()) == []
    # handed a folder the target is not below: the data home decides (here: the reports)
    (home.reports / "70").mkdir(parents=True)
    target = home.reports / "70" / "nested" / "b.txt"
    assert write_if_changed(target, "hai\n", root=home.outbox)
    assert target.read_text("utf-8") == "hai\n"
    home.reports.joinpath("71").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(LinkRefused):
        write_if_changed(home.reports / "71" / "c.txt", "ba\n", root=home.outbox)
    assert list(elsewhere.iterdir()) == []


def test_a_run_rewrites_only_the_receipts_whose_text_changed(home, db):
    """`write_receipts` opens each outbox folder once for the run: a receipt whose text is the
    same is left alone (same file, same time), one whose text changed is replaced whole (a new
    file renamed over it), and no temporary file is left behind."""
    drop(home.inbox, report("60", "2024"))
    drop(home.inbox, report("61", "2024", seed=3))
    results = run().results
    paths = sorted(home.outbox.rglob("*.receipt.txt"))
    assert [p.parent.name for p in paths] == ["60", "61"]
    before = {p: p.stat() for p in paths}

    receipts.write_receipts(results, db)  # the same answers again: nothing written
    for p in paths:
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == (before[p].st_ino,
                                                           before[p].st_mtime_ns)

    changed, same = paths
    changed.write_text("an old text\n", encoding="utf-8")
    old = changed.stat()
    receipts.write_receipts(results, db)
    assert changed.read_text("utf-8").startswith("BIÊN NHẬN BÁO CÁO / REPORT RECEIPT\n")
    assert changed.stat().st_ino != old.st_ino  # replaced, never rewritten in place
    assert (same.stat().st_ino, same.stat().st_mtime_ns) == (before[same].st_ino,
                                                             before[same].st_mtime_ns)
    assert sorted(p.name for p in home.outbox.rglob("*") if p.is_file()) == sorted(
        p.name for p in paths)


def test_a_large_run_is_answered_by_two_processes_each_folder_by_one(home, db, tmp_path,
                                                                      monkeypatch):
    """A run of many files is answered by this process and a forked one, each taking whole
    outbox folders (the receipts of a name stay in the run's order); if the other process
    fails, its share is answered here."""
    from ingest import isolated
    from ingest.receive.archive import FolderWriter

    folders = ["60", "61", "01", "_khong_ro_tinh"]
    results = [pipeline.FileResult(f"/x/{folders[i % 4]}/lien_ket_{i}.xlsx",
                                   f"lien_ket_{i}.xlsx", folders[i % 4], "refused",
                                   message="not a regular file")
               for i in range(isolated.BESIDE_MIN_ITEMS + 6)]
    log = tmp_path / "writers"
    own = FolderWriter.write_if_changed

    def noted(self, target, data):
        with log.open("a") as out:
            out.write(f"{os.getpid()} {target.parent}\n")
        return own(self, target, data)

    monkeypatch.setattr(FolderWriter, "write_if_changed", noted)
    monkeypatch.setenv("LHPN_WORKERS", "2")

    def answered() -> None:
        assert all(r.receipt for r in results)
        for r in results:
            vi, en = halves(Path(r.receipt).read_text("utf-8"))
            assert r.source_file in vi and "KHÔNG NHẬN" in vi and "not a regular file" in en

    written = receipts.write_receipts(results, db)
    assert len(written) == len(results)
    answered()
    writers = [line.split() for line in log.read_text().splitlines()]
    assert {pid for pid, _ in writers} - {str(os.getpid())}, "no second process wrote"
    assert len({f for _, f in writers}) == len(folders)
    assert all(len({pid for pid, f in writers if f == folder}) == 1
               for folder in {f for _, f in writers})

    for path in home.outbox.rglob("*.receipt.txt"):
        path.unlink()
    for r in results:
        r.receipt = None
    monkeypatch.setattr(isolated, "run_each", lambda count, task, **kw: (kw["idle"](), [
        isolated.Failure("crash", "killed by signal SIGKILL")])[1])
    assert len(receipts.write_receipts(results, db)) == len(results)
    answered()


def test_a_folder_writer_checks_each_folder_once_and_refuses_links(home, tmp_path):
    """The writer of many receipts opens a folder below the outbox once, without following a
    link: a folder that is a link is refused for every file meant for it (its target stays
    untouched), and the other folders are written as usual."""
    from ingest.receive.archive import FolderWriter, LinkRefused

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home.outbox.mkdir(parents=True, exist_ok=True)
    (home.outbox / "70").symlink_to(elsewhere, target_is_directory=True)
    with FolderWriter(home.outbox) as writer:
        for name in ("a", "b"):
            with pytest.raises(LinkRefused):
                writer.write_if_changed(home.outbox / "70" / f"{name}.receipt.txt", "một\n")
            assert writer.write_if_changed(home.outbox / "71" / f"{name}.receipt.txt", "hai\n")
        assert not writer.write_if_changed(home.outbox / "71" / "a.receipt.txt", "hai\n")
        # not below the outbox: the data home decides, as for `write_if_changed`
        assert writer.write_if_changed(home.reports / "71" / "c.txt", "ba\n")
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in (home.outbox / "71").iterdir()) == ["a.receipt.txt",
                                                                      "b.receipt.txt"]
    assert (home.reports / "71" / "c.txt").read_text("utf-8") == "ba\n"


def test_where_a_file_sits_below_the_inbox_is_compared_part_by_part(tmp_path):
    from ingest.receive.inbox import folder_province, parts_below, root_of

    inbox = tmp_path / "inbox"
    assert parts_below(inbox / "60" / "BC.xlsx", inbox) == ("60", "BC.xlsx")
    assert parts_below(inbox / "BC.xlsx", inbox) == ("BC.xlsx",)
    assert parts_below(inbox, inbox) is None
    assert parts_below(tmp_path / "inboxx" / "60" / "BC.xlsx", inbox) is None  # a name prefix
    assert root_of(inbox / "60" / "BC.xlsx", inbox) == inbox
    assert root_of(tmp_path / "inboxx" / "BC.xlsx", inbox) is None
    assert folder_province(inbox / "60" / "BC.xlsx", inbox) == "60"
    assert folder_province(inbox / "BC.xlsx", inbox) == ""
    with pytest.raises(ValueError):
        folder_province(tmp_path / "elsewhere" / "BC.xlsx", inbox)


@pytest.mark.parametrize("name", [
    "BC_60_2024.xlsx",
    "Báo cáo tổng kết công tác Hội và phong trào phụ nữ " * 5 + ".xlsx",
    "x" * 254 + ".xlsx",
])
def test_receipt_names_fit_the_filesystem(name, tmp_path):
    safe = sidecar_name(name, receipts.SUFFIX)
    assert len(safe.encode("utf-8")) <= 255 and safe.endswith(".receipt.txt")
    (tmp_path / safe).write_text("ok", encoding="utf-8")  # the filesystem takes it
    if len((name + receipts.SUFFIX).encode()) <= 255:
        assert safe == name + receipts.SUFFIX
    else:  # shortened, but still distinct from a name sharing the same start
        assert safe != sidecar_name(name[:-6] + "_2.xlsx", receipts.SUFFIX)


def test_long_dropped_name_gets_a_receipt(home, db):
    name = "Báo cáo kết quả thực hiện nghị quyết Đại hội phụ nữ tỉnh " * 3 + "2024.xlsx"
    assert len(name.encode()) <= 255 < len((name + receipts.SUFFIX).encode())
    drop(home.inbox, report("60", "2024"), name)
    [result] = run().results
    receipt = Path(result.receipt)
    assert receipt.parent == home.outbox / "60" and receipt.exists()
    assert f"Tệp / File: {name}" in receipt.read_text("utf-8")


@pytest.mark.slow
def test_accepted_receipt_quotes_the_marts_and_is_rewritten_when_they_change(home, db):
    from ingest.marts.build import refresh_marts

    def build_marts() -> None:  # as `lhpn run` does after a load: what the load made stale
        assert refresh_marts()["plan"] != "none"

    # two provinces of the same emulation cluster; Quảng Ngãi scores higher than Phú Yên
    drop(home.inbox, scored("51", 0.90, seed=11))
    drop(home.inbox, scored("54", 0.80, seed=12))
    run()
    vi, _ = halves(receipt_of(home, "51", "BC_51_2024.xlsx"))
    assert "sau khi kho dữ liệu được cập nhật" in vi  # loaded, marts not built yet
    build_marts()
    assert receipts.refresh_receipts(db) == 2
    assert receipts.refresh_receipts(db) == 0  # nothing changed: nothing rewritten

    text = receipt_of(home, "51", "BC_51_2024.xlsx")
    vi, en = halves(text)
    card = fetch(db, "select scorecard_label from marts.term_scorecard"
                     " where province_code = '51' and period = '2024'")[0]
    assert f"{card['scorecard_label']} chỉ tiêu đạt hoặc vượt" in vi
    assert f"{card['scorecard_label']} met or exceeded" in en
    status_vi = {"vuot": "vượt", "dat": "đạt", "chua_dat": "chưa đạt"}
    status_en = {"vuot": "exceeded", "dat": "met", "chua_dat": "not met"}
    indicators = fetch(db, "select indicator_code, indicator_name, indicator_name_en, status"
                           " from marts.term_indicator_attainment"
                           " where province_code = '51' and period = '2024'")
    assert len(indicators) == 8
    for ind in indicators:
        assert (f"     {ind['indicator_code']} {ind['indicator_name']}: "
                f"{status_vi[ind['status']]} — ") in vi
        assert (f"     {ind['indicator_code']} {ind['indicator_name_en']}: "
                f"{status_en[ind['status']]} — ") in en

    def rank_in_marts() -> tuple[int, int]:
        rows = fetch(db, "select province_code, rank_in_cluster, cluster_code"
                         " from marts.emulation_ranking where year = 2024")
        mine = next(r for r in rows if r["province_code"] == "51")
        peers = [r for r in rows if r["cluster_code"] == mine["cluster_code"]]
        return mine["rank_in_cluster"], len(peers)

    def rank_in_receipt() -> tuple[int, int]:
        vi, en = halves(receipt_of(home, "51", "BC_51_2024.xlsx"))
        quoted = re.search(r"hạng (\d+)/(\d+)", vi).groups()
        assert re.search(r"rank (\d+)/(\d+)", en).groups() == quoted
        return int(quoted[0]), int(quoted[1])

    assert rank_in_receipt() == rank_in_marts() == (1, 2)
    poverty = fetch(db, "select households_out_of_poverty, poor_households_start"
                        " from marts.poverty_support_outcomes"
                        " where province_code = '51' and period = '2024'")[0]
    assert (f"Giảm nghèo: {vn_number(float(poverty['households_out_of_poverty']))} hộ thoát"
            f" nghèo / {vn_number(float(poverty['poor_households_start']))} hộ nghèo đầu kỳ"
            ) in vi

    # Quảng Nam (same cluster) reports a higher score: Quảng Ngãi's rank line must follow
    before = text
    drop(home.inbox, scored("49", 0.97, seed=13))
    run()
    assert receipt_of(home, "51", "BC_51_2024.xlsx") == before  # marts not rebuilt yet
    build_marts()
    assert receipts.refresh_receipts(db) == 3  # 49 gets its figures, 51 and 54 new ranks
    assert rank_in_receipt() == rank_in_marts() == (2, 3)

    # a corrected Quảng Ngãi file: version 2 waits for the marts, then quotes them
    drop(home.inbox, scored("51", 0.99, seed=14), "BC_51_2024_sua.xlsx")
    run()
    vi, _ = halves(receipt_of(home, "51", "BC_51_2024_sua.xlsx"))
    assert "sau khi kho dữ liệu được cập nhật" in vi  # the marts still hold version 1
    build_marts()
    receipts.refresh_receipts(db)
    vi, en = halves(receipt_of(home, "51", "BC_51_2024_sua.xlsx"))
    assert re.search(r"hạng 1/3", vi), vi
    vi, _ = halves(receipt_of(home, "51", "BC_51_2024.xlsx"))
    assert "đã được thay bằng phiên bản 2" in vi and "hạng" not in vi


def test_sheets_of_a_half_year_report_are_counted(home, db):
    rep = report("60", "2025-6T", sheets=(TERM, POVERTY))
    drop(home.inbox, rep)
    [result] = run().results
    assert result.event == "accepted", result
    vi, en = halves(receipt_of(home, "60", "BC_60_2025-6T.xlsx"))
    assert "ChiTieu 8 dòng; GiamNgheo 5 dòng đơn vị + 1 dòng tổng" in vi
    assert "ThiDua" not in vi
    assert "Kỳ báo cáo: 2025-6T" in vi


def test_findings_render_as_in_the_report():
    from ingest.model import Finding

    f = Finding("negative", "error", "Số âm.", "Negative.", sheet="GiamNgheo", excel_row=7,
                column="Hộ thoát nghèo", value="-3")
    assert render_findings([f], "vi")[2] == '  1. Sheet GiamNgheo | dòng 7 | cột "Hộ thoát nghèo"' \
                                          ' | giá trị "-3"'


def test_a_name_cannot_forge_a_line_of_the_receipt(home, db):
    waiting = pipeline.FileResult("/x/60/a", display_name("BC.xlsx\nKết quả: ĐÃ NHẬN"), "60",
                                  "deferred")
    [path] = receipts.write_receipts([waiting], db)
    assert "\nKết quả: ĐÃ NHẬN" not in path.read_text("utf-8")
    assert "\n" not in path.name


def test_one_receipt_per_name_tells_the_latest_answer(home, db):
    bad = report("60", "2024", seed=7, sheets=(POVERTY,))
    bad.poverty_rows[0]["households_out_of_poverty"] = -5
    drop(home.inbox, bad, "BC_60.xlsx")
    run()
    assert "BỊ TỪ CHỐI" in receipt_of(home, "60", "BC_60.xlsx")
    drop(home.inbox, report("60", "2024", seed=7), "BC_60.xlsx")  # corrected, same name
    run()
    assert "Kết quả: ĐÃ NHẬN\n" in receipt_of(home, "60", "BC_60.xlsx")
    bad.poverty_rows[0]["households_out_of_poverty"] = -6  # broken again, same name
    drop(home.inbox, bad, "BC_60.xlsx")
    run()
    receipts.refresh_receipts(db)  # must not bring back the accepted version's receipt
    assert "BỊ TỪ CHỐI" in receipt_of(home, "60", "BC_60.xlsx")


def test_a_rejection_logged_without_a_submission_is_answered_from_its_report(home, db):
    """A file set aside before it became a submission (e.g. after repeated failures) has a log
    entry with its content hash but no submissions row."""
    from ingest import journal

    report_path = home.quarantine / "60" / "hong.xlsx.errors.txt"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("Tệp bị để riêng sau 3 lần lỗi.\n", encoding="utf-8")
    journal.log_event(db, "r1", "ab" * 32, "hong.xlsx", "60", "rejected", None, "set aside")
    result = pipeline.FileResult("/x/60/hong.xlsx", "hong.xlsx", "60", "rejected",
                                 sha256="ab" * 32, errors=1, report=str(report_path))
    receipts.write_receipts([result], db)
    text = receipt_of(home, "60", "hong.xlsx")
    assert "BỊ TỪ CHỐI / REJECTED" in text and "sau 3 lần lỗi" in text
