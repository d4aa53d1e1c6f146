"""The `amop` command: database, demo fleet and exports (more commands join as rooms grow)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from amop_pipelines.settings import database_url


def _engine():
    from amop_pipelines.db.engine import make_engine

    return make_engine(database_url())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Carrier-side operations of an IoT SIM fleet: sync, optimize, change.

    The AMOP database is AMOP_DATABASE_URL when set, else data/amop.sqlite3 (AMOP_DATA_DIR
    moves the data folder).
    """


@main.group()
def db() -> None:
    """Create and migrate the AMOP database."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (creates the database when it is new)."""
    from amop_pipelines.db import migrate

    migrate.upgrade(database_url(), revision)
    click.echo(f"database at revision {migrate.current_revision(database_url())}")


@db.command("downgrade")
@click.option("--revision", default="base", show_default=True, help="Alembic revision to go back to.")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' drops every AMOP table)."""
    from amop_pipelines.db import migrate

    migrate.downgrade(database_url(), revision)
    click.echo(f"database at revision {migrate.current_revision(database_url()) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Print the database's current migration revision."""
    from amop_pipelines.db import migrate

    click.echo(migrate.current_revision(database_url()) or "base")


@main.group(invoke_without_command=True)
@click.option("--devices", default=5000, show_default=True, help="Fleet size when the database is empty.")
@click.option("--seed", default=7, show_default=True, help="Random seed of the demo fleet.")
@click.pass_context
def demo(ctx: click.Context, devices: int, seed: int) -> None:
    """Run the main job on the demo fleet (seeding it first when the database is empty)."""
    if ctx.invoked_subcommand is not None:
        return
    from amop_pipelines.demo.run import run_demo

    result = run_demo(devices=devices, seed=seed, echo=click.echo)
    if not result.success:
        sys.exit(1)


@demo.command("seed")
@click.option("--devices", default=5000, show_default=True, help="Number of devices (up to 1,000,000).")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same fleet.")
def demo_seed(devices: int, seed: int) -> None:
    """Seed the demo fleet; seeding again with the same seed adds nothing."""
    from amop_pipelines.db import migrate
    from amop_pipelines.demo.seed import seed_demo

    if not 0 < devices <= 1_000_000:
        raise click.BadParameter("must be between 1 and 1,000,000", param_hint="--devices")
    migrate.upgrade(database_url())
    report = seed_demo(_engine(), devices=devices, seed=seed)
    click.echo(
        f"seeded {report.devices_in_fleet:,} demo devices (seed {seed}) in {report.seconds:.1f} s; "
        f"{report.devices_in_database:,} devices in the database"
    )


@main.group()
def devices() -> None:
    """Devices in the AMOP database."""


@devices.command("export")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="devices.csv to write."
)
@click.option("--provider", default=None, help="Service provider name (default: all).")
@click.option("--billing-month", default=None, help="YYYY-MM whose usage to export (default: latest).")
@click.option("--customer-pools", is_flag=True, help="Fill pool_key with the customer for pooled customers.")
def devices_export(out: Path, provider: str | None, billing_month: str | None, customer_pools: bool) -> None:
    """Write devices.csv in the contract format (DESIGN.md section 5)."""
    from amop_pipelines.exports import ExportError, export_devices

    try:
        count = export_devices(_engine(), out, provider, billing_month, customer_pools)
    except ExportError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {count:,} devices to {out.resolve()}")


@main.group("rate-plans")
def rate_plans() -> None:
    """Carrier rate plans in the AMOP database."""


@rate_plans.command("export")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="plans.csv to write."
)
@click.option("--provider", default=None, help="Service provider name (default: all).")
def rate_plans_export(out: Path, provider: str | None) -> None:
    """Write plans.csv in the contract format (DESIGN.md section 5)."""
    from amop_pipelines.exports import ExportError, export_rate_plans

    try:
        count = export_rate_plans(_engine(), out, provider)
    except ExportError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {count:,} rate plans to {out.resolve()}")
