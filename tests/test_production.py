"""The production topology of docker-compose.yml, without Docker.

A separate PostgreSQL 16 cluster on a free TCP port with scram passwords is prepared by
`docker/postgres-init.sh` itself (the script compose mounts into the postgres image), run the
way the image's entrypoint runs it: bash, its psql on the Unix socket as the superuser, the
names and passwords in the environment. Then everything runs as compose runs it: the warehouse
as the non-superuser `LHPN_DB_USER` through `LHPN_WAREHOUSE_URL`, Airflow on the `airflow`
database as `AIRFLOW_DB_USER`, BI tools as `bi_reader` over TCP with `LHPN_BI_PASSWORD`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests import workbooks
from tests.postgres_cluster import Cluster, pg_bin

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

ROOT = Path(__file__).resolve().parents[1]
LHPN = str(Path(sys.executable).with_name("lhpn"))  # the installed console script
INIT_SCRIPT = ROOT / "docker" / "postgres-init.sh"

# dag.test() of each DAG id given, in order; one JSON line per run: state and task states.
DAG_TEST_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
for dag_id in sys.argv[2:]:
    run = bag.get_dag(dag_id).test()
    tis = run.get_task_instances()
    tasks = {}
    for ti in tis:
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = str(getattr(ti.state, "value", ti.state))
    print("RESULT " + json.dumps({"dag_id": dag_id, "state": str(getattr(run.state, "value",
          run.state)), "tasks": tasks}), flush=True)
"""


def _run(args: list[str], env: dict, log: Path, timeout: float = 900) -> str:
    try:
        proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{args[:3]} did not finish in {timeout}s") from exc
    log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr, encoding="utf-8")
    assert proc.returncode == 0, f"{args[:4]} failed ({log}):\n{proc.stdout[-2000:]}\n" \
                                 f"{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    """The cluster, prepared by the init script; yields what compose's .env would hold."""
    root = tmp_path_factory.mktemp("production")
    # a throwaway cluster: nothing it writes needs to survive a crash of this machine, so no
    # waiting for the disk (what the test checks, roles, rights and logins, is the same)
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="lhpn-production-pg-")), server_settings={
        "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
    secrets_env = {
        "POSTGRES_USER": "postgres",
        "LHPN_DB_USER": "lhpn_owner",          # not the database's name: the script must not mix
        "LHPN_DB_PASSWORD": secrets.token_urlsafe(16),  # them up
        "AIRFLOW_DB_USER": "airflow_meta",
        "AIRFLOW_DB_PASSWORD": secrets.token_urlsafe(16),
        "LHPN_BI_PASSWORD": secrets.token_urlsafe(16),
    }
    try:
        cluster.start()
        # as docker-entrypoint.sh does: bash runs the script, psql reaches the socket
        init_env = {"PATH": f"{pg_bin()}{os.pathsep}{os.environ['PATH']}", "HOME": str(root),
                    **cluster.socket_env(), **secrets_env}
        _run(["bash", str(INIT_SCRIPT)], init_env, root / "init.log", timeout=120)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("LHPN_", "AIRFLOW"))}
        env.update({
            "LHPN_HOME": str(root / "home"),
            "LHPN_SETTLE_SECONDS": "0",
            "LHPN_WAREHOUSE_URL": cluster.url(secrets_env["LHPN_DB_USER"],
                                              secrets_env["LHPN_DB_PASSWORD"], "lhpn"),
            "LHPN_BI_PASSWORD": secrets_env["LHPN_BI_PASSWORD"],
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://" + cluster.url(
                secrets_env["AIRFLOW_DB_USER"], secrets_env["AIRFLOW_DB_PASSWORD"],
                "airflow").split("://", 1)[1],
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
        })
        yield {"cluster": cluster, "env": env, "root": root, **secrets_env}
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def _superuser_url(production: dict, database: str = "postgres") -> str:
    cluster = production["cluster"]
    return cluster.url("postgres", cluster.superuser_password, database)


def test_init_script_creates_roles_without_superuser_powers(production):
    with psycopg.connect(_superuser_url(production)) as conn:
        roles = dict(conn.execute(
            "select rolname, rolsuper from pg_roles where rolname = any(%s)",
            [[production["LHPN_DB_USER"], production["AIRFLOW_DB_USER"]]]).fetchall())
        owners = dict(conn.execute(
            "select datname, pg_get_userbyid(datdba) from pg_database"
            " where datname in ('lhpn', 'airflow')").fetchall())
    assert roles == {production["LHPN_DB_USER"]: False, production["AIRFLOW_DB_USER"]: False}
    assert owners == {"lhpn": production["LHPN_DB_USER"], "airflow": production["AIRFLOW_DB_USER"]}
    # every login goes over TCP with a password: without it the server refuses
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://{production['LHPN_DB_USER']}@127.0.0.1:"
                        f"{production['cluster'].port}/lhpn", connect_timeout=10)


def test_migrations_and_lhpn_run_as_the_warehouse_role(production):
    env, root = production["env"], production["root"]
    url = _run([LHPN, "warehouse-url"], env,
               root / "warehouse-url.log").strip()
    assert url == env["LHPN_WAREHOUSE_URL"]
    inbox = Path(env["LHPN_HOME"]) / "inbox"
    workbooks.drop(inbox, workbooks.report("51", "2024", seed=3))            # messy xlsx
    workbooks.drop(inbox, workbooks.report("60", "2025-6T", seed=4, sheets=(workbooks.POVERTY,)),
                   "BC 60 6 thang.csv")
    bad = workbooks.report("37", "2024", seed=5, sheets=(workbooks.POVERTY,))
    bad.poverty_rows[0]["households_out_of_poverty"] = bad.poverty_rows[0][
        "poor_households_start"] + 10
    workbooks.drop(inbox, bad)
    out = _run([LHPN, "run"], env, root / "lhpn-run.log")
    print(out[-1500:])
    with psycopg.connect(url) as conn:
        who = conn.execute("select current_user, rolsuper from pg_roles"
                           " where rolname = current_user").fetchone()
        assert who == (production["LHPN_DB_USER"], False)
        outcomes = sorted(conn.execute(
            "select province_code, outcome from raw.submissions").fetchall())
        assert [p for p, _ in outcomes] == ["37", "51", "60"]
        assert dict(outcomes)["37"] == "rejected"
        assert dict(outcomes)["51"].startswith("accepted")
        scorecards = conn.execute("select count(*) from marts.term_scorecard"
                                  " where province_code = '51'").fetchone()[0]
        assert scorecards == 1


def test_both_dags_on_the_airflow_metadata_database(production):
    env, root = production["env"], production["root"]
    airflow_home = root / "airflow"
    env = {**env, "AIRFLOW_HOME": str(airflow_home)}
    code = ("import json; from ingest.airflow.local import airflow_env;"
            " print(json.dumps(airflow_env()))")
    env.update(json.loads(_run([sys.executable, "-c", code], env, root / "airflow-env.log")))
    env["AIRFLOW_HOME"] = str(airflow_home)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
        f"postgresql+psycopg2://{production['AIRFLOW_DB_USER']}:")
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    _run([sys.executable, "-m", "airflow", "db", "migrate"], env, root / "airflow-migrate.log")

    inbox = Path(env["LHPN_HOME"]) / "inbox"
    workbooks.drop(inbox, workbooks.report("49", "2024", seed=6))
    out = _run([sys.executable, "-c", DAG_TEST_SCRIPT, str(ROOT / "dags"), "lhpn_ingest",
                "lhpn_warehouse"], env, root / "dag-test.log")
    runs = {r["dag_id"]: r for r in (json.loads(line[len("RESULT "):])
                                     for line in out.splitlines() if line.startswith("RESULT "))}
    assert runs["lhpn_ingest"]["state"] == "success", runs["lhpn_ingest"]
    assert runs["lhpn_warehouse"]["state"] == "success", runs["lhpn_warehouse"]
    with psycopg.connect(env["LHPN_WAREHOUSE_URL"]) as conn:
        provinces = {r[0] for r in conn.execute(
            "select province_code from marts.term_scorecard")}
    assert provinces == {"49", "51"}
    metadata = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("+psycopg2", "")
    with psycopg.connect(metadata) as conn:
        dag_runs = conn.execute("select dag_id, state from dag_run order by id").fetchall()
    assert dag_runs == [("lhpn_ingest", "success"), ("lhpn_warehouse", "success")]


def test_bi_reader_over_tcp_is_confined_to_marts(production):
    cluster = production["cluster"]
    bi_url = _run([LHPN, "bi-url"], production["env"],
                  production["root"] / "bi-url.log").strip()
    assert bi_url == cluster.url("bi_reader", production["LHPN_BI_PASSWORD"], "lhpn")
    with psycopg.connect(bi_url) as conn:
        assert conn.execute("select current_user").fetchone() == ("bi_reader",)
        assert conn.execute("select count(*) from marts.term_scorecard").fetchone()[0] == 2
        dates = conn.execute("select period_start_date from marts.term_scorecard order by 1")
        assert [d.year for (d,) in dates] == [2024, 2024]
        # the dbt descriptions reach BI tools as comments, persisted by the non-superuser owner
        assert conn.execute("select obj_description('marts.term_scorecard'::regclass)"
                            ).fetchone()[0]
        assert conn.execute("select col_description('marts.term_scorecard'::regclass, 1)"
                            ).fetchone()[0]
        conn.rollback()
        for relation in ("raw.submissions", "audit.ingest_log", "reference.provinces_2024",
                         "staging.stg_raw__submissions"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from {relation} limit 1")
            conn.rollback()
        with pytest.raises((psycopg.errors.InsufficientPrivilege,  # read-only sessions too
                            psycopg.errors.ReadOnlySqlTransaction)):
            conn.execute("create table marts.nope (x int)")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://bi_reader@127.0.0.1:{cluster.port}/lhpn",
                        connect_timeout=10)
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(cluster.url("bi_reader", production["LHPN_BI_PASSWORD"], "airflow"),
                        connect_timeout=10)
