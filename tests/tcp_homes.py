"""Data homes whose embedded PostgreSQL also listens on 127.0.0.1 (LHPN_PG_PORT), as a BI tool
reaches it, for the tests that need a server of their own (fixture `tcp_homes` in
tests/conftest.py): tests/test_bi_access.py watches one's server log from its first command on,
tests/test_superset.py connects Superset to one whose samples were processed by `lhpn run`.

A fresh home with `lhpn run` of the samples costs some 15 s of CPU (a new cluster, dbt's whole
parse, the seeds, the first build), so a home whose samples a test processed and then left as a
user's home (`keep`) is the one the next test that only needs such a home gets. The two tests
carry the same xdist group, so they run on one worker, the password test first (as collected):
`airflow_dag_tests`, as the password test's DAG run goes to that group's dag.test() process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.postgres_cluster import free_port


@dataclass
class TcpHome:
    root: Path
    port: int
    env: dict[str, str] = field(repr=False)  # the environment of an `lhpn` process on it
    samples: bool = False  # `lhpn run` processed the bundled samples here, marts built


class TcpHomes:
    def __init__(self) -> None:
        self.made: list[TcpHome] = []

    def fresh(self) -> TcpHome:
        """A new, empty data home (its server starts with the first `lhpn` command on it)."""
        # outside pytest's base temp, which another pytest session of this user may close
        # (0700) while the server, run as pgserver's user when we are root, still needs it
        root = Path(tempfile.mkdtemp(prefix="lhpn-tcp-home-"))
        port = free_port()
        env = {**os.environ, "LHPN_HOME": str(root), "LHPN_PG_PORT": str(port),
               # a throwaway warehouse: its commits need not wait for the disk
               "PGOPTIONS": "-c synchronous_commit=off"}
        for name in ("LHPN_BI_PASSWORD", "LHPN_INBOX", "LHPN_OUTBOX", "LHPN_WAREHOUSE_URL"):
            env.pop(name, None)
        made = TcpHome(root, port, env)
        self.made.append(made)
        return made

    def keep(self, made: TcpHome) -> None:
        """`made` holds the samples processed by `lhpn run` and is left as a user would have it
        after the README's first run: a test that needs only that may take it."""
        made.samples = True

    def with_samples(self, run: Callable[[dict[str, str]], object]) -> TcpHome:
        """The last home kept with its samples processed, else a fresh one on which `run(env)`
        runs `lhpn run`."""
        for made in reversed(self.made):
            if made.samples:
                return made
        made = self.fresh()
        run(made.env)
        made.samples = True
        return made

    def close(self) -> None:
        from ingest import warehouse
        from ingest.settings import Home

        for made in self.made:
            warehouse.stop_embedded(Home(made.root, made.root / "inbox", made.root / "outbox"))
            shutil.rmtree(made.root, ignore_errors=True)
