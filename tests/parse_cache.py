"""dbt's parse, kept per test process for every set of inputs it was made from.

dbt keeps one `partial_parse.msgpack` per target folder and parses the whole project again
(2 s of CPU in a process that parsed before, 5 s in a new one, against 0.4 s and 2.4 s for a
partial parse) whenever the saved parse was made with other `--vars` or another connection. In a
test process the vars move (LHPN_TODAY: tests/test_calendar.py, test_marts.py,
test_marts_refresh.py), and each move back and forth cost a full parse. `ParseCache` keeps a
copy of the parse dbt wrote for each (project, profile, vars) and puts it back in the target
folder before dbt runs with those inputs again, so dbt only partial-parses (`adopt` keeps the
parse an `lhpn` subprocess made on the session's data home too). dbt still checks the
copy itself (version, vars, profile, project files): a copy it cannot use is parsed again, never
trusted. The build code is not changed: `install` wraps `ingest.marts.build._invoke`, and
`restore` (before each test) gives the session's data home the parse of today's real date, for
the `lhpn` subprocesses that run on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

MSGPACK = "partial_parse.msgpack"


class ParseCache:
    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.session_url: str | None = None
        self.hits = 0  # copies put in place before a dbt command (for the tests of this cache)
        self.known: dict[Path, int] = {}  # target -> mtime of the parse this cache put or kept

    @staticmethod
    def key(url: str) -> str:
        """What dbt's state check compares, as this project feeds it: the project, the profile
        written for `url` (host, port, database, user), the vars of today's date."""
        import yaml

        from ingest.marts import build
        from ingest.settings import dbt_project_dir

        text = json.dumps([str(dbt_project_dir()), yaml.safe_dump(build.profile_for(url)),
                           build.dbt_vars()], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def put_back(self, url: str, target: Path) -> bool:
        saved = self.folder / f"{self.key(url)}.msgpack"
        if not saved.exists():
            return False
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, target / MSGPACK)
        self.known[target] = (target / MSGPACK).stat().st_mtime_ns
        self.hits += 1
        return True

    def keep(self, url: str, target: Path) -> None:
        made = target / MSGPACK
        if made.exists():
            shutil.copyfile(made, self.folder / f"{self.key(url)}.msgpack")
            self.known[target] = made.stat().st_mtime_ns

    def install(self) -> None:
        """Wrap `ingest.marts.build._invoke` (every in-process dbt command goes through it)."""
        from ingest import warehouse
        from ingest.marts import build

        real = build._invoke

        def invoke(command, *, verbose, url=None):
            url = url or warehouse.warehouse_url()
            target = build._target_path()
            self.put_back(url, target)
            try:
                return real(command, verbose=verbose, url=url)
            finally:
                self.keep(url, target)

        invoke.__wrapped__ = real
        build._invoke = invoke

    def adopt(self) -> None:
        """After a test: a parse an `lhpn` subprocess wrote into the session's data home since
        this cache last touched it was made for today's real date (the tests run them with the
        environment of the session) and is kept as such. Were it not, dbt would only parse
        again when it is put back."""
        if self.session_url is None or os.environ.get("LHPN_TODAY"):
            return
        from ingest.marts import build

        target = build._target_path()
        made = target / MSGPACK
        if made.exists() and made.stat().st_mtime_ns != self.known.get(target):
            self.keep(self.session_url, target)

    def restore(self) -> None:
        """The session's data home gets the parse of the session's server and today's real
        date (what an `lhpn` subprocess of the next test uses), when there is one."""
        if self.session_url is None or os.environ.get("LHPN_TODAY"):
            return
        from ingest.marts import build

        self.put_back(self.session_url, build._target_path())
