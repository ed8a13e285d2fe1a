"""What an operator sees of a run at a glance (issue 20): short task labels, the files that need
attention named by the failing `files_need_attention` task, and the optional e-mail about them."""

from __future__ import annotations

import pytest

from ingest import notify
from ingest.airflow import batches


def _result(path: str, event: str) -> dict:
    return {"path": path, "event": event}


def test_labels_fit_the_breadcrumb():
    one = batches.batch_label(["/x/inbox/37/BC_37_nam_2024.xlsx"],
                              [_result("/x/inbox/37/BC_37_nam_2024.xlsx", "rejected")])
    assert one == "37/BC_37_nam_2024.xlsx: rejected"
    paths = [f"/x/inbox/{c}/BC_{c}_nam_2024_ban_sua_lan_cuoi.xlsx" for c in ("01", "04", "08")]
    many = batches.batch_label(paths, [_result(paths[0], "rejected"),
                                       _result(paths[1], "accepted"),
                                       _result(paths[2], "accepted")])
    assert many == "3 files: 1 rejected, 2 accepted"
    assert len(batches.batch_label(paths * 100)) <= batches.LABEL_MAX


def test_attention_names_rejected_refused_and_failed_files_only():
    summary = batches.run_summary([{"results": [
        _result("/i/37/a.xlsx", "rejected"), _result("/i/49/b.xlsx", "accepted"),
        _result("/i/51/c.xlsx", "refused"), _result("/i/60/d.csv", "duplicate")]}], 4)
    message = batches.attention_message(summary)
    assert "2 tệp cần xem" in message
    assert "37/a.xlsx: rejected" in message and "51/c.xlsx: refused" in message
    assert "49/b.xlsx" not in message and "60/d.csv" not in message
    clean = batches.run_summary([{"results": [_result("/i/49/b.xlsx", "accepted")]}], 1)
    assert batches.attention_message(clean) is None
    assert batches.attention_message(batches.run_summary([], 0)) is None


def test_the_notifier_is_off_by_default_and_mails_when_configured(monkeypatch, fake_smtp):
    sent = fake_smtp
    for name in ("LHPN_NOTIFY_TO", "LHPN_SMTP_HOST", "LHPN_SMTP_USER"):
        monkeypatch.delenv(name, raising=False)
    context = {"exception": "1 tệp cần xem / file(s) need attention:\n  37/a.xlsx: rejected",
               "run_id": "asset_triggered__2026-12-04"}
    notify.FilesNeedAttentionNotifier().notify(context)
    assert sent == []  # off: nothing configured
    monkeypatch.setenv("LHPN_NOTIFY_TO", "truc.ban@hoilhpn.example, it@hoilhpn.example")
    monkeypatch.setenv("LHPN_SMTP_HOST", "smtp.hoilhpn.example")
    notify.FilesNeedAttentionNotifier().notify(context)
    assert sent[0] == ("connect", "smtp.hoilhpn.example", 25)
    _, to, subject, body = sent[1]
    assert to == "truc.ban@hoilhpn.example, it@hoilhpn.example"
    assert "asset_triggered__2026-12-04" in subject and "37/a.xlsx: rejected" in body


@pytest.mark.slow
def test_a_dbt_run_in_a_task_process_leaves_no_leaked_semaphores(lhpn_home, warehouse_url):
    """An Airflow task ends its process without collecting dbt's objects: dbt's locks must not
    be named semaphores the resource tracker then reports as leaked (two red ERROR lines)."""
    import os
    import subprocess
    import sys

    script = ("import os\n"
              "from ingest.marts.build import _invoke\n"
              "result = _invoke(['parse'], verbose=False)\n"
              "print('parsed', result.success, flush=True)\n"
              "os._exit(0)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "LHPN_HOME": str(lhpn_home)})
    assert "parsed True" in proc.stdout, proc.stderr[-2000:]
    assert "leaked semaphore" not in proc.stderr, proc.stderr[-2000:]


def test_make_airflow_stops_the_postgresql_it_started(tmp_path):
    """`make airflow` (ingest.airflow.local): when Airflow ends, the embedded server it started
    is stopped; one it did not start is left running."""
    import os
    import subprocess
    import sys
    import time

    from ingest.airflow.local import run_until_stopped
    from ingest.settings import Home

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False

    data_home = Home(tmp_path, tmp_path / "inbox", tmp_path / "outbox")
    data_home.pgdata.mkdir(parents=True)
    for stop in (False, True):
        # a stand-in server that is not our child (init reaps it, as it would a postmaster); it
        # starts with SIGINT ignored (a background job of sh), so wait until it has taken it back
        ready = tmp_path / f"ready-{stop}"
        server = (f"{sys.executable} -c 'import signal, time; "
                  "signal.signal(signal.SIGINT, signal.SIG_DFL); "
                  f"open(\"{ready}\", \"w\").close(); time.sleep(120)'")
        pid = int(subprocess.run(["sh", "-c", f"{server} >/dev/null 2>&1 & echo $!"],
                                 capture_output=True, text=True, check=True).stdout)
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the stand-in server did not start"
        (data_home.pgdata / "postmaster.pid").write_text(f"{pid}\n", encoding="utf-8")
        try:
            status = run_until_stopped([sys.executable, "-c", "raise SystemExit(3)"], {},
                                       stop_warehouse=stop, data_home=data_home)
            assert status == 3
            deadline = time.monotonic() + 10
            while stop and alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert alive(pid) is not stop
        finally:
            if alive(pid):
                os.kill(pid, 9)


def test_a_sigterm_to_make_airflow_stops_airflow_as_ctrl_c_does(tmp_path):
    """`airflow standalone` stops its components on Ctrl-C only (a SIGTERM ends it and leaves
    the api-server, scheduler and triggerer running): `make airflow` passes a SIGTERM on as
    Ctrl-C, so stopping it with `kill` or a service manager stops Airflow whole."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    ready, stopped = tmp_path / "ready", tmp_path / "components-stopped"
    stand_in = tmp_path / "standalone.py"  # what `airflow standalone` does on Ctrl-C
    stand_in.write_text(
        "import pathlib, time\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "try:\n"
        "    time.sleep(120)\n"
        "except KeyboardInterrupt:\n"
        f"    pathlib.Path({str(stopped)!r}).touch()\n", encoding="utf-8")
    launcher = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ingest.airflow.local import run_until_stopped\n"
        "from ingest.settings import Home\n"
        "home = Path(sys.argv[1])\n"
        "sys.exit(run_until_stopped([sys.executable, sys.argv[2]], {}, stop_warehouse=False,\n"
        "                           data_home=Home(home, home / 'inbox', home / 'outbox')))\n")
    # started as a shell starts a background job: with Ctrl-C ignored, which its children
    # would inherit
    proc = subprocess.Popen([sys.executable, "-c", launcher, str(tmp_path), str(stand_in)],
                            cwd=Path(__file__).resolve().parents[1],
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the stand-in did not start"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert stopped.exists(), "SIGTERM did not reach Airflow as Ctrl-C: its components would run on"
