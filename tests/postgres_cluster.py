"""A throwaway PostgreSQL 16 cluster for tests, from the binaries the pgserver wheel ships.

No system service and no Docker: `initdb`, `pg_ctl`, `postgres` and `psql` come from
`pgserver/pginstall/bin`. The cluster listens on 127.0.0.1:<port> with scram-sha-256 password
authentication (as the compose `postgres` service does for the other containers) and on a Unix
socket with trust (as the image's entrypoint does while it runs the init scripts).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

SUPERUSER = "postgres"


def pg_bin() -> Path:
    """pgserver's bin directory, found without importing pgserver (its import is not free)."""
    spec = importlib.util.find_spec("pgserver")
    assert spec and spec.submodule_search_locations, "pgserver is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def psql() -> str:
    return str(pg_bin() / "psql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pgserver_utils():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from pgserver import utils
    return utils


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as pgserver's own system user."""
    if os.geteuid() != 0:
        return None
    _pgserver_utils().ensure_user_exists("pgserver")
    return "pgserver"


class Cluster:
    """initdb + pg_ctl start of one cluster under `root`; `stop()` never hangs.

    Give it a root outside pytest's base temp (which is mode 0700 and reset by every pytest
    session of this user): as root, the server runs as another user that must reach it.
    """

    def __init__(self, root: Path, port: int | None = None,
                 server_settings: dict[str, object] | None = None) -> None:
        self.root = root
        self.server_settings = server_settings or {}  # `-c name=value` for the server
        self.data = root / "data"
        self.socket_dir = root
        self.log = root / "postgres.log"
        self.port = port or free_port()
        self.superuser_password = secrets.token_urlsafe(16)
        self.user = _system_user()

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              user=self.user, cwd=self.root)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}\n{log}")
        return proc

    def start(self) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            _pgserver_utils().ensure_prefix_permissions(self.root)
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        pwfile = self.root / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n", encoding="utf-8")
        if self.user:
            os.chown(pwfile, pwd.getpwnam(self.user).pw_uid, -1)
        pwfile.chmod(0o600)
        bin_dir = pg_bin()
        self._run([str(bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                   "--encoding=UTF8", "--auth-local=trust", "--auth-host=scram-sha-256",
                   f"--pwfile={pwfile}"])
        pwfile.unlink()
        self._run([str(bin_dir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
                   "-o", f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir}" + "".join(
                       f" -c {name}={value}" for name, value in self.server_settings.items()),
                   "-l", str(self.log), "start"], timeout=90)
        return self

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown by signal (pg_ctl would need to enter the data directory, which a
        concurrent pytest may have made unreachable by resetting its base temp's mode)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10), (signal.SIGKILL, 5)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)

    def url(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def socket_env(self) -> dict[str, str]:
        """libpq variables that reach the cluster's Unix socket (as the image's init does)."""
        return {"PGHOST": str(self.socket_dir), "PGPORT": str(self.port)}
