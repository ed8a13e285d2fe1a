"""`lhpn`: the command line of contract §6. It drives the same functions the Airflow DAGs run."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from ingest import __version__

# Exit codes: 0 the pipeline worked (rejected files are data, not failures);
# 1 the system itself failed; 2 bad usage or arguments (click's convention).
EXIT_SYSTEM = 1


def _system_errors(func):
    """Turn failures of the system into one clear line and exit EXIT_SYSTEM (1), never a
    traceback (2 stays click's code for bad usage)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ingest.warehouse import WarehouseError

        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except WarehouseError as exc:
            click.secho(f"Lỗi hệ thống / system error: {exc}", fg="red", err=True)
            sys.exit(EXIT_SYSTEM)
        except Exception as exc:  # noqa: BLE001 - last line of defence for the operator
            if "--debug" in sys.argv:
                raise
            click.secho(
                f"Lỗi hệ thống / system error: {type(exc).__name__}: {exc}\n"
                "Run again with --debug for the full traceback.",
                fg="red",
                err=True,
            )
            sys.exit(EXIT_SYSTEM)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lhpn")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """lhpn-warehouse: provincial Women's Union reports into a checked, queryable warehouse.

    The data home is LHPN_HOME (default .lhpn/ in the project); LHPN_INBOX overrides the
    inbox and LHPN_WAREHOUSE_URL points at an existing PostgreSQL instead of the embedded one.
    """


@main.command()
@click.option("--no-samples", is_flag=True,
              help="Do not fill an empty inbox with the bundled sample reports on a first run.")
@click.option("--no-marts", is_flag=True, help="Load the files but do not build the marts.")
@click.option("--quiet", "-q", is_flag=True, help="Only print the final summary.")
@click.option("--backfill", is_flag=True,
              help="An import of history on purpose: this run's files get no on-time verdict "
                   "(on_time NULL), never a false late. Same as LHPN_BACKFILL=1.")
@_system_errors
def run(no_samples: bool, no_marts: bool, quiet: bool, backfill: bool) -> None:
    """Process everything in the inbox (read, validate, load), then build the marts."""
    from ingest.cli import console

    console.run_command(samples=not no_samples, build=not no_marts, quiet=quiet,
                        backfill=backfill or None)


@main.command()
@click.option("--province", help="Only this province code.")
@click.option("--period", help="Only this period, e.g. 2024 or 2025-6T.")
@click.option("--all", "show_all", is_flag=True, help="Also list expected periods never received.")
@click.option("--round", "round_period", metavar="PERIOD",
              help="One reporting round, e.g. 2026 or 2026-6T: expected, received, accepted, "
                   "rejected, missing, days to the due date, and each province.")
@_system_errors
def status(province: str | None, period: str | None, show_all: bool,
           round_period: str | None) -> None:
    """Submissions by province and period: received, accepted, warnings, rejected, missing, late,
    not yet due. Always answers for today (LHPN_TODAY where set)."""
    from ingest.cli import console

    if round_period:
        console.print_round(round_period, province=province)
    else:
        console.print_status(province=province, period=period, show_all=show_all)


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the reminders due today; write nothing.")
@_system_errors
def remind(dry_run: bool) -> None:
    """Write the reminders due today (contract §9): outbox/<code>/nhac_nho_<period>_<stage>.txt
    for every province with nothing accepted for an open round, with the pre-filled template
    beside it; withdraw those whose report is now accepted. The lhpn_calendar DAG runs the same."""
    from ingest.cli import console

    console.remind_command(dry_run=dry_run)


@main.command()
@click.argument("arguments", nargs=-1, metavar="PROVINCE_CODE PERIOD | --all PERIOD")
@click.option("--all", "every_province", is_flag=True,
              help="One template per province of PERIOD, into <outbox>/<province_code>/.")
@click.option("--term", help="Term YYYY-YYYY (default: the term that holds the period).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Where to write the .xlsx.")
@click.option("--no-prefill", is_flag=True,
              help="Do not read the warehouse: no targets or units from earlier reports.")
@_system_errors
def template(arguments: tuple[str, ...], every_province: bool, term: str | None,
             output: str | None, no_prefill: bool) -> None:
    """Write the data-entry workbook for PROVINCE_CODE and PERIOD (or --all provinces).

    Targets of the term and the units of GiamNgheo are pre-filled from the province's latest
    reports in the warehouse. With --all the templates go to the outbox (LHPN_OUTBOX, default
    outbox/ in the data home), one folder per province, ready to hand out.
    """
    from ingest import template as tpl

    expected = 1 if every_province else 2
    if len(arguments) != expected:
        raise click.UsageError("give PERIOD with --all, else PROVINCE_CODE PERIOD "
                               "(e.g. lhpn template 68 2025, lhpn template --all 2025).")
    if every_province and output:
        raise click.UsageError("--output names one file; with --all the templates go to the "
                               "outbox (set LHPN_OUTBOX to write them elsewhere).")
    try:
        if every_province:
            paths = tpl.write_all(arguments[0], term=term, prefill=not no_prefill)
        else:
            paths = [tpl.write_template(*arguments, term=term, output=output,
                                        prefill=not no_prefill)]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if every_province:
        click.echo(f"Đã tạo {len(paths)} mẫu báo cáo / {len(paths)} templates written in "
                   f"{paths[0].parent.parent}")
    else:
        click.echo(f"Đã tạo mẫu báo cáo / template written: {paths[0]}")


@main.command()
@click.option("--yes", is_flag=True, help="Empty a warehouse that holds data without asking.")
@click.option("--no-marts", is_flag=True, help="Replay the files but do not build the marts.")
@_system_errors
def rebuild(yes: bool, no_marts: bool) -> None:
    """Rebuild the warehouse from the archive: empty it, replay every file received in the
    order of archive/ingest-log.jsonl, build the marts (same versions, statuses and marts)."""
    import psycopg

    from ingest import rebuild as replay
    from ingest import warehouse

    with psycopg.connect(warehouse.warehouse_url(), autocommit=True) as conn:
        empty = replay.warehouse_is_empty(conn)
    if not empty and not yes:
        click.confirm("Kho dữ liệu đang có số liệu; xóa và dựng lại từ kho lưu trữ? / The "
                      "warehouse holds data: empty it and rebuild it from the archive?",
                      abort=True)

    def progress(number: int, total: int, counts: dict) -> None:
        click.echo(f"[{number}/{total}] {counts['run_id']}: {counts['files']} tệp / files, "
                   f"{counts['accepted']} nhận / accepted, {counts['rejected']} từ chối / "
                   f"rejected, {counts['duplicates']} trùng / duplicates")

    totals = replay.rebuild(build=not no_marts, progress=progress)
    click.echo(f"Đã dựng lại / rebuilt: {totals['runs']} lần chạy / runs, {totals['files']} tệp"
               f" / files ({totals.get('accepted', 0)} nhận / accepted, "
               f"{totals.get('rejected', 0)} từ chối / rejected).")
    if totals.get("failed"):
        click.secho(f"{totals['failed']} tệp gặp lỗi hệ thống / files failed", fg="red", err=True)
        sys.exit(EXIT_SYSTEM)


@main.command("warehouse-url")
@_system_errors
def warehouse_url_cmd() -> None:
    """Print the libpq URL of the warehouse (starting the embedded one if needed)."""
    from ingest import warehouse

    click.echo(warehouse.warehouse_url())


@main.command("bi-url")
@_system_errors
def bi_url_cmd() -> None:
    """Print the libpq URL for the read-only bi_reader role (sees schema marts only)."""
    from ingest import warehouse

    click.echo(warehouse.bi_url())


@main.command("bi-role")
@click.argument("province_code")
@_system_errors
def bi_role_cmd(province_code: str) -> None:
    """Create (once) a login that reads only PROVINCE_CODE's rows of the marts; print its URL.

    A code of the 2025 map reads its province in every period (with the provinces it was
    formed from); a code that ended on 1 July 2025 reads that province up to then.
    """
    from ingest import warehouse

    try:
        url = warehouse.province_role_url(province_code)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="PROVINCE_CODE") from exc
    click.echo(url)


@main.command("superset-bundle")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("lhpn_superset.zip"), show_default=True)
@_system_errors
def superset_bundle_cmd(output: Path) -> None:
    """Write the shipped Superset dashboard as a zip for `superset import-dashboards -p`, its
    database connection set to `lhpn bi-url`; print the zip's path."""
    from ingest import superset

    click.echo(superset.bundle(output))


@main.command()
@click.option("--no-dbt-docs", is_flag=True,
              help="Keep the dbt docs as they are unless the dbt project changed (faster).")
@_system_errors
def docs(no_dbt_docs: bool) -> None:
    """(Re)build the pages in site/ of the data home and print the path of site/index.html.

    Dashboard, province pages and validation results (read from the marts as bi_reader), and
    dbt's documentation of every model and column (regenerated: it takes a few seconds).
    """
    from ingest.pages.site import build_site

    index = build_site(parts={"dashboard", "provinces", "validation"},
                       dbt_docs_refresh=None if no_dbt_docs else True)
    click.echo(str(index))


if __name__ == "__main__":
    main()
