"""The settle window, shortened where it is exact (issue 23 item 5).

A clerk's copy has a fresh modification time. On a local folder, a file nobody holds open for
writing and no write touched for about a second has been closed by its writer: it is taken then,
not after the whole `LHPN_SETTLE_SECONDS`. Where a writer could be hidden from this machine (a
network share) or the lease test cannot be made, the whole window still applies.
"""

from __future__ import annotations

import os

from ingest.receive import settle
from tests.workbooks import drop, report


def test_a_closed_file_on_a_local_folder_settles_in_the_short_window(tmp_path, monkeypatch):
    path = tmp_path / "BC_60_2024.xlsx"
    path.write_bytes(b"x" * 1000)
    st = os.lstat(path)
    assert settle.local_file_system(st.st_dev), "the test folder is a local file system"
    assert settle.settle_window(str(path), st, 60) == settle.QUICK_SETTLE_SECONDS

    # a writer still holds it open (a copy in progress, a paused writer): the whole window
    with path.open("ab"):
        assert settle.writers(str(path)) is True
        assert settle.settle_window(str(path), st, 60) == 60
    assert settle.writers(str(path)) is False

    # a network share: its writers are other machines' processes, the lease cannot see them
    monkeypatch.setattr(settle, "local_file_system", lambda device: False)
    assert settle.settle_window(str(path), st, 60) == 60


def test_the_mount_table_names_the_file_system(tmp_path):
    """`/proc/self/mountinfo` decides what is local: the root and /proc are told apart."""
    assert settle.local_file_system(os.lstat("/proc/self").st_dev) is False  # proc: not a folder
    assert settle.local_file_system(os.makedev(4095, 1048575)) is False  # no such mount


def test_a_fresh_copy_is_taken_by_the_same_run_long_before_the_window(home, db, monkeypatch):
    """With a one-minute window and a run that waits five seconds, a file copied a moment ago
    is still taken (before, it was left for the next run: "still changing")."""
    from ingest import pipeline

    monkeypatch.setenv("LHPN_SETTLE_SECONDS", "60")
    monkeypatch.setenv("LHPN_SETTLE_WAIT_SECONDS", "5")
    drop(home.inbox, report("60", "2024", seed=11))
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["accepted"]

    # where the window cannot be shortened (a share), the same copy waits for the next run
    monkeypatch.setattr(settle, "local_file_system", lambda device: False)
    drop(home.inbox, report("04", "2024", seed=12))
    monkeypatch.setenv("LHPN_SETTLE_WAIT_SECONDS", "1")
    summary = pipeline.process_files(pipeline.list_inbox())
    assert [r.event for r in summary.results] == ["deferred"]
