"""docker-compose.yml, Dockerfile and .env.example, checked without Docker.

The compose file is first validated against the Compose Specification's JSON schema (the copy
check-jsonschema vendors and keeps current), so a misspelt key, a wrong type or an unknown
`depends_on` condition fails here as `docker compose` would fail; the tests below then check
what the schema cannot know: our services, their wiring, the profiles, the secrets.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "flower"}
ONE_OFF = {"airflow-init", "lhpn"}  # run to completion: no healthcheck, never restarted
INTERPOLATION = re.compile(r"(?<!\$)\$\{(\w+)(?::?[-?][^}]*)?\}")  # $${X} is escaped
PROFILES = [(), ("celery",), ("celery", "flower")]


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.protocols.Validator:
    text = (resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
            ).read_text(encoding="utf-8")
    schema = json.loads(text)
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema, format_checker=validator.FORMAT_CHECKER)


def _schema_errors(validator, document: dict) -> list[str]:
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
                  for e in validator.iter_errors(document))


@pytest.fixture(scope="module")
def compose(compose_validator) -> dict:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    errors = _schema_errors(compose_validator, document)
    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(errors)
    return document


@pytest.mark.parametrize("path, value, complaint", [
    (("services", "postgres", "healtcheck"), {"test": ["CMD", "true"]}, "healtcheck"),
    (("services", "airflow-scheduler", "depends_on", "postgres", "condition"), "service_healty",
     "service_healty"),
    (("services", "redis", "expose"), {"6379": "tcp"}, "6379"),
    (("services", "airflow-worker", "profiles"), "celery", "celery"),
    (("volumes", "pgdata"), ["not", "a", "volume"], "pgdata"),
])
def test_the_schema_catches_what_docker_compose_would_reject(compose, compose_validator, path,
                                                             value, complaint):
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = _schema_errors(compose_validator, broken)
    assert errors and any(complaint in e for e in errors), errors


def _active(services: dict, profiles: tuple[str, ...]) -> set[str]:
    """Services `docker compose --profile ...` starts: no profiles, or one of those given."""
    return {name for name, s in services.items()
            if not s.get("profiles") or set(s["profiles"]) & set(profiles)}


@pytest.mark.parametrize("profiles", PROFILES, ids=lambda p: "+".join(p) or "default")
def test_every_profile_starts_a_complete_set(services, profiles):
    active = _active(services, profiles)
    for name in active:
        missing = set(services[name].get("depends_on") or {}) - active
        assert not missing, f"{name} (profiles {profiles}) depends on disabled {missing}"
    assert ("airflow-worker" in active) == ("celery" in profiles)
    assert ("redis" in active) == ("celery" in profiles)
    assert ("flower" in active) == ("flower" in profiles)


def test_celery_profile_wiring(services):
    """The workers take tasks from the redis service and keep states in the metadata DB."""
    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker"
    env = _env(worker)
    assert env["AIRFLOW__CELERY__BROKER_URL"].endswith("@redis:6379/0")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].endswith("@postgres:5432/airflow")
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "celery_executor.app inspect ping" in " ".join(worker["healthcheck"]["test"])
    redis = services["redis"]
    assert "--requirepass" in " ".join(redis["command"]) and "6379" in redis["expose"]
    assert not redis.get("ports"), "the broker is not published outside the compose network"
    assert services["flower"]["ports"][0].startswith("127.0.0.1:")


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def test_services_present(services):
    assert {"postgres", "redis", *AIRFLOW_SERVICES, *ONE_OFF} <= set(services)


def test_every_image_is_pinned_or_built(services):
    for name, service in services.items():
        image = service.get("image")
        assert image or service.get("build"), f"{name}: neither image nor build"
        if image:
            repo, _, tag = image.rpartition(":")
            assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: {image} unpinned"
            assert any(ch.isdigit() for ch in tag), f"{name}: {image} has no version in its tag"


def test_dockerfile_pins_the_airflow_base_and_installs_the_lock():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert froms == ["apache/airflow:3.3.2-python3.11"]
    assert "requirements.lock" in text
    for folder in ("ingest", "dags", "dbt_project"):
        assert f"COPY --chown=airflow:0 {folder} " in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".lhpn", ".git"} <= set(ignored)


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name in ONE_OFF:
            assert service.get("restart") == "no"
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), name


def test_airflow_services_wait_for_the_database_and_init(services):
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "--write-passwords" in init


def test_environment_and_volumes_are_wired(compose, services):
    for name in AIRFLOW_SERVICES | ONE_OFF:
        service = services[name]
        env = _env(service)
        assert env["LHPN_HOME"] == "/data/lhpn", name
        assert env["LHPN_INBOX"] == "/data/inbox", name
        assert env["LHPN_WAREHOUSE_URL"].startswith("postgresql://"), name
        assert env["LHPN_WAREHOUSE_URL"].endswith("@postgres:5432/lhpn"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
        assert env["AIRFLOW__CORE__EXECUTOR"].startswith(
            "${AIRFLOW_EXECUTOR:-ingest.airflow.executor.WarmLocalExecutor}")
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        mounts = {v.split(":")[-1] if not v.startswith("${") else v.rsplit(":", 1)[-1]
                  for v in service["volumes"]}
        assert {"/data/lhpn", "/data/inbox"} <= mounts, f"{name}: {mounts}"
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])
             if not v.startswith((".", "/", "$"))}
    assert named <= set(compose["volumes"]), "every named volume is declared"
    # the init script tests/test_production.py runs is the one the postgres image runs
    assert "./docker/postgres-init.sh:/docker-entrypoint-initdb.d/10-lhpn.sh:ro" in services[
        "postgres"]["volumes"]
    assert (ROOT / "docker" / "postgres-init.sh").is_file()


def _walk_strings(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk_strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_strings(value, f"{path}[{i}]")
    elif node is not None:
        yield path, str(node)


def test_no_literal_secrets(compose):
    secret_key = re.compile(r"(PASSWORD|SECRET|FERNET|TOKEN)", re.I)
    for path, value in _walk_strings(compose):
        key = path.rsplit(".", 1)[-1]
        if secret_key.search(key) and not key.endswith("_FILE"):
            assert INTERPOLATION.fullmatch(value), f"{path} is a literal: {value!r}"
            assert ":-" not in value, f"{path} has a default value"
        # credentials inside URLs must be interpolated too
        for userinfo in re.findall(r"://([^@/\s]+)@", value):
            assert ":" not in userinfo or "${" in userinfo.split(":", 1)[1], f"{path}: {value}"


def test_env_example_names_every_variable_and_holds_no_secret(compose):
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(INTERPOLATION.findall(text))
    example = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    missing = used - set(example)
    assert not missing, f"not in .env.example: {sorted(missing)}"
    for key, value in example.items():
        if re.search(r"PASSWORD|SECRET|FERNET", key):
            assert value == "", f".env.example must not carry a value for {key}"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored or not (ROOT / ".env").exists()


def test_the_executor_and_celery_settings_named_by_compose_import(services):
    """What the services name by dotted path is importable from the project, and is what it
    claims: a LocalExecutor that preloads, and Airflow's Celery settings with the broker URL."""
    import importlib

    from airflow.executors.local_executor import LocalExecutor
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    env = _env(services["airflow-scheduler"])
    executor = re.fullmatch(r"\$\{AIRFLOW_EXECUTOR:-([\w.]+)\}", env["AIRFLOW__CORE__EXECUTOR"])
    module, name = executor.group(1).rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, LocalExecutor) and cls.start is not LocalExecutor.start
    module, name = env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"].rsplit(".", 1)
    config = getattr(importlib.import_module(module), name)
    assert config == DEFAULT_CELERY_CONFIG and config is not DEFAULT_CELERY_CONFIG


# ---------------------------------------------------------------- issue 24: production offices use

def _mounts(service: dict) -> dict[str, str]:
    """container path -> source of each volume of a service (short syntax)."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = re.match(r"(\$\{[^}]*\}|[^:]+):([^:]+)", volume).groups()
        out[target] = source
    return out


def test_offices_folders_are_host_bind_mounts(services):
    for name in AIRFLOW_SERVICES | ONE_OFF:
        mounts = _mounts(services[name])
        env = _env(services[name])
        assert mounts[env["LHPN_OUTBOX"]] == "${LHPN_OUTBOX_PATH:-./outbox}", name
        assert mounts["/data/lhpn/site"] == "${LHPN_SITE_PATH:-./site}", name
        assert mounts["/data/inbox"] == "${LHPN_INBOX_PATH:-./inbox}", name


def test_init_never_changes_the_shared_folders_recursively(services):
    script = services["airflow-init"]["command"][-1]
    for line in script.splitlines():
        if "chown -R" in line:
            assert not {"/data/inbox", "/data/outbox", "/data/lhpn "} & set(line.split()), line
            assert "/data/inbox" not in line and "/data/outbox" not in line, line
    assert "-path /data/lhpn/site -prune" in script


def test_lhpn_commands_run_in_production(services):
    lhpn = services["lhpn"]
    assert lhpn["profiles"] == ["tools"] and lhpn["entrypoint"] == ["lhpn"]
    assert lhpn["image"] == services["airflow-scheduler"]["image"]
    assert _env(lhpn)["LHPN_WAREHOUSE_URL"].startswith("postgresql://")


def test_the_airflow_ui_is_local_unless_said_otherwise(services):
    assert services["airflow-apiserver"]["ports"] == [
        "${AIRFLOW_BIND:-127.0.0.1}:${AIRFLOW_PORT:-8080}:8080"]


def test_the_image_is_checked_and_carries_no_embedded_server():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "RUN pip check" in dockerfile
    runtime = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert "pgserver" not in runtime and "pgserver" not in (ROOT / "requirements.in").read_text(
        encoding="utf-8")
    assert "\npgserver==" in (ROOT / "requirements-dev.lock").read_text(encoding="utf-8")


def test_without_pgserver_the_warehouse_says_what_to_do(monkeypatch, tmp_path):
    import sys

    from ingest import warehouse

    monkeypatch.setenv("LHPN_HOME", str(tmp_path))
    monkeypatch.delenv("LHPN_WAREHOUSE_URL", raising=False)
    monkeypatch.setitem(sys.modules, "pgserver", None)  # import pgserver -> ImportError
    with pytest.raises(warehouse.WarehouseError, match="LHPN_WAREHOUSE_URL"):
        warehouse.server_url()


def _compose_binary() -> list[str] | None:
    import shutil
    import subprocess

    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) and subprocess.run(
                [*command, "version"], capture_output=True).returncode == 0:
            return command
    return None


@pytest.mark.external
@pytest.mark.parametrize("profiles", [*PROFILES, ("tools",)],
                         ids=lambda p: "+".join(p) or "default")
def test_the_real_compose_binary_accepts_the_file(profiles, tmp_path):
    import subprocess

    command = _compose_binary()
    if command is None:
        pytest.skip("no Docker Compose binary on this machine")
    names = set(INTERPOLATION.findall((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}=x{i}\n" for i, name in enumerate(sorted(names))),
                        encoding="utf-8")
    done = subprocess.run([*command, "--env-file", str(env_file), "-f",
                           str(ROOT / "docker-compose.yml"),
                           *[a for p in profiles for a in ("--profile", p)], "config", "-q"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_airflow_takes_the_time_zone_from_the_dbt_project(services, tmp_path):
    """The local time zone is decided once (dbt_project.yml): compose does not repeat it; the
    image's entry point exports it to Airflow, then runs the base image's own entry point."""
    from ingest.settings import LOCAL_TIME_ZONE

    for name in AIRFLOW_SERVICES:
        assert "AIRFLOW__CORE__DEFAULT_TIMEZONE" not in _env(services[name]), name
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert ('ENTRYPOINT ["/usr/bin/dumb-init", "--", "/opt/lhpn/docker/airflow-entrypoint.sh"]'
            in dockerfile)
    script = (ROOT / "docker" / "airflow-entrypoint.sh").read_text(encoding="utf-8")
    # run it with the base image's entry point replaced by one that prints what it was given
    stub = tmp_path / "entrypoint"
    stub.write_text('#!/bin/sh\necho "$AIRFLOW__CORE__DEFAULT_TIMEZONE $*"\n', encoding="utf-8")
    stub.chmod(0o755)
    runnable = tmp_path / "airflow-entrypoint.sh"
    runnable.write_text(script.replace("exec /entrypoint", f"exec {stub}"), encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("AIRFLOW__CORE__DEFAULT_TIMEZONE", None)
    out = subprocess.run(["bash", str(runnable), "scheduler"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == [LOCAL_TIME_ZONE, "scheduler"]
    env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = "UTC"  # an operator's own choice in .env is kept
    out = subprocess.run(["bash", str(runnable), "scheduler"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["UTC", "scheduler"]
