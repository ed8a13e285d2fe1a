"""Superset's steps of tests/test_superset.py in one Superset process (run by the Python of
Superset's own venv, never imported by pytest): the README's commands `superset db upgrade`,
`superset fab create-admin`, `superset init` and `superset import-dashboards -p <zip> -u admin`,
each through Superset's own command line (its click group, on one app), then the app served over
HTTP as `superset run --with-threads` serves it.

Each Superset process spends about 4.5 s of CPU importing Superset and creating its app before it
does anything; five of them (four commands and the server) cost that five times.

Protocol, one line each on stdout (everything else Superset prints goes to stderr):
`step <seconds> <command>` after each command; after `ready`, the path of the bundle is read from
stdin (the warehouse is prepared meanwhile); `serving <port>` once the server listens on
127.0.0.1:<port>; `failed <command>` followed by the command's output, then exit 1. The server
stops on SIGTERM.
"""

from __future__ import annotations

import os
import sys
import time

ADMIN = ["--username", "admin", "--password", "admin", "--firstname", "L", "--lastname", "H",
         "--email", "admin@lhpn.example"]


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # Superset's own prints go to stderr with its logging

    def say(line: str) -> None:
        protocol.write(line + "\n")

    from superset.app import create_app
    from superset.cli.main import superset

    app = create_app()
    runner = app.test_cli_runner()  # the commands run on this app, not on one app each

    def command(*args: str) -> None:
        started = time.perf_counter()
        result = runner.invoke(superset, list(args))
        if result.exit_code != 0:
            say(f"failed {' '.join(args[:2])}")
            say(result.output[-3000:])
            if result.exc_info and not isinstance(result.exception, SystemExit):
                import traceback

                say("".join(traceback.format_exception(*result.exc_info))[-3000:])
            protocol.flush()
            sys.exit(1)
        say(f"step {time.perf_counter() - started:.1f} {' '.join(args[:2])}")

    command("db", "upgrade")
    command("fab", "create-admin", *ADMIN)
    command("init")
    say("ready")
    bundle = sys.stdin.readline().strip()
    command("import-dashboards", "-p", bundle, "-u", "admin")  # the README's command

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # as `superset run --with-threads`
    say(f"serving {server.server_port}")
    server.serve_forever()


if __name__ == "__main__":
    main()
