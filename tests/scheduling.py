"""How `pytest -n` hands the tests to its workers (the hooks are in tests/conftest.py).

Tests that share a setup wider than one test run on one worker, one after another: a module's
tests that use a module-scoped fixture, and the tests that name an xdist group
(`@pytest.mark.xdist_group("loaded_warehouse")`). pytest-xdist's own `--dist loadgroup` cannot do
it under pytest 9 (it renames the tests through an attribute pytest no longer reads), so:

- at collection, `order` sorts the units longest first (whole, each in collection order) and,
  on a worker, writes which unit each test belongs to into a folder the controller named;
- the controller's `UnitScheduling` (xdist's scope scheduler, the scope being that unit) sends
  each unit whole to one worker, in collection order: the longest start first, so the run does
  not end with one worker busy on a long test started last.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

UNITS_DIR = "lhpn_units_dir"  # key of the workers' input: where they write the units

# Seconds the longest tests take on two quiet cores, roughly; a module's own entry is the setup
# its tests share. Any other test counts 10 s when marked slow (1 s in a unit of several), 1 s
# otherwise. Only the order matters: refresh it from `make test ARGS=--durations=40` when a test
# grows past another.
LONGEST = {
    "tests/test_production.py": 10,  # a cluster of its own, prepared by the init script
    "tests/test_production.py::test_both_dags_on_the_airflow_metadata_database": 38,
    "tests/test_production.py::test_migrations_and_lhpn_run_as_the_warehouse_role": 35,
    "tests/test_celery.py::test_both_dags_run_on_a_celery_worker": 74,
    # after the password test (xdist group airflow_dag_tests), on the data home it leaves
    "tests/test_superset.py::test_the_dashboard_imports_into_superset_and_every_chart_has_data":
        13,
    "tests/test_lifecycle.py::test_killing_lhpn_run_while_it_parses_leaves_nothing_stuck": 24,
    "tests/test_dags.py::test_file_drop_through_both_dags": 48,
    # its DAG run in the dag.test() process of the group airflow_dag_tests
    "tests/test_bi_access.py::test_the_bi_password_never_reaches_the_server_log": 26,
    "tests/test_lifecycle.py::test_lhpn_rebuild_reproduces_every_mart": 15,
    "tests/test_cli.py::test_first_run_processes_the_samples_and_prints_the_summary": 13,
    # the group airflow_dag_tests, one dag.test() process: the first test starts it
    "tests/test_dags.py::test_calendar_dag_reminds_the_provinces_with_nothing_accepted": 19,
    "tests/test_lifecycle.py::test_a_burst_far_above_the_lock_table_loads_in_one_run": 8,
    "tests/test_bi_access.py::test_a_reader_holding_a_mart_open_does_not_stall_lhpn_run": 17,
    "tests/test_marts_refresh.py::test_a_new_day_rebuilds_the_calendar_without_new_files": 19,
    "tests/test_hostile.py::test_hostile_inbox_runs_to_the_end_within_the_memory_bound": 16,
    "tests/test_marts_refresh.py::test_one_file_rebuilds_what_it_changes_and_equals_a_full_build":
        46,
    "tests/test_receipts.py::"
    "test_accepted_receipt_quotes_the_marts_and_is_rewritten_when_they_change": 14,
    "tests/test_calendar.py::"
    "test_reminders_once_per_province_and_stage_withdrawn_when_accepted": 24,
    "tests/test_hostile.py::test_odd_names_and_links_do_not_stop_the_ingest_dag": 8,
    "tests/test_round_figures.py::"
    "test_the_template_filled_as_an_office_fills_it_scores_its_own_indicators": 10,
    "tests/test_marts.py": 20,  # one dbt build with its unit tests
    "tests/test_marts.py::test_routine_builds_leave_unit_tests_to_the_test_suite": 5,
    "tests/test_marts_refresh.py::test_lhpn_run_builds_only_what_the_run_made_stale": 13,
    "tests/test_lifecycle.py::test_an_immutable_file_stops_no_run": 2,
    "tests/test_pages.py::test_every_page_fits_a_phone_screen": 12,
    "tests/test_ingest.py::test_killed_loader_leaves_nothing_half_loaded": 5,
    "tests/test_messages.py::test_every_finding_kind_is_actionable_in_both_languages": 4,
    "tests/test_quoted_cells.py::test_every_quoted_cell_is_the_real_cell": 3,
    "tests/test_calendar.py::"
    "test_operators_are_mailed_the_late_provinces_once_when_configured": 5,
    "tests/test_dags.py": 7,  # the DAG folder parsed by Airflow in a subprocess
    "tests/test_bi_access.py::test_a_province_login_reads_only_its_own_rows": 16,
}
LOADED_WAREHOUSE_SETUP = 9  # tests.loaded.load_samples: the samples, a dbt build, the pages


def unit_of(item: pytest.Item) -> str:
    """The unit a test runs in: the xdist group it names, its module when it uses a fixture
    wider than the function (set up once for the tests that run in a row), else itself."""
    for mark in item.iter_markers("xdist_group"):
        return "group " + str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        if defs and defs[-1].scope in ("module", "class", "package"):
            return "module " + item.nodeid.split("::")[0]
    return item.nodeid


def cost(items: list[pytest.Item]) -> float:
    """Seconds a unit of tests takes, roughly: its tests and the setup they share."""
    seconds = 0.0
    for item in items:  # in a unit, a slow test is mostly its share of the unit's setup
        alone_slow = len(items) == 1 and item.get_closest_marker("slow")
        seconds += LONGEST.get(item.nodeid.split("[")[0], 10.0 if alone_slow else 1.0)
    modules = {item.nodeid.split("::")[0] for item in items}
    seconds += sum(LONGEST.get(module, 0) for module in modules)
    if any("loaded_warehouse" in item.fixturenames for item in items):
        seconds += LOADED_WAREHOUSE_SETUP
    return seconds


def order(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Sort `items` by unit, longest unit first; on a worker, write down each test's unit."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(unit_of(item), []).append(item)
    first = {key: n for n, key in enumerate(units)}
    ranked = sorted(units, key=lambda key: (-cost(units[key]), first[key]))
    items[:] = [item for key in ranked for item in units[key]]
    folder = getattr(config, "workerinput", {}).get(UNITS_DIR)
    if folder:
        path = Path(folder) / f"{config.workerinput['workerid']}.json"
        path.with_suffix(".tmp").write_text(json.dumps(
            {item.nodeid: key for key, members in units.items() for item in members}))
        os.replace(path.with_suffix(".tmp"), path)


class UnitScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with the units the workers wrote down as scopes."""

    def __init__(self, config: pytest.Config, log, folder: Path) -> None:
        super().__init__(config, log)
        self.folder = folder
        self.units: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self.units is None:  # asked once every worker has collected, so written down
            written = sorted(self.folder.glob("*.json"))
            self.units = json.loads(written[0].read_text()) if written else {}
        return self.units.get(nodeid, nodeid)
