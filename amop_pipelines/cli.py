"""The `amop` command: database, demo fleet and exports (more commands join as rooms grow)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from amop_pipelines import settings
from amop_pipelines.changes.priorities import OPERATOR_CHOICES
from amop_pipelines.changes.registry import CHANGE_TYPES
from amop_pipelines.settings import SettingError, database_url


def _engine():
    from amop_pipelines.db.engine import make_engine

    return make_engine(database_url())


class _Amop(click.Group):
    """A setting found malformed or missing while a command runs ends it with one line naming the
    setting, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SettingError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Amop, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Carrier-side operations of an IoT SIM fleet: sync, optimize, change.

    The AMOP database is AMOP_DATABASE_URL when set, else data/amop.sqlite3 (AMOP_DATA_DIR
    moves the data folder).
    """
    # every command but `amop settings` checks every setting first: a malformed one ends it
    # before it starts, one line per problem
    if ctx.invoked_subcommand != "settings" and (problems := settings.problems()):
        raise click.ClickException("\n".join(problems))


@main.command("settings")
def settings_command() -> None:
    """Every setting with its value here (secrets shown as set or unset); exits 1 naming each
    malformed one."""
    for name, setting in settings.SETTINGS.items():
        if setting.secret:
            shown = "(set)" if settings.is_set(name) else "(default)" if setting.default else "(unset)"
        else:
            try:
                value = settings.get(name)
            except SettingError:
                value = "(malformed)"
            shown = ", ".join(sorted(value)) if isinstance(value, frozenset | tuple) else value
        click.echo(f"{name}={'' if shown is None else shown}  # {setting.meaning}")
    problems = settings.problems()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)


_ACCOUNT_OPTIONS = [
    click.option("--account", "account_name", help="The account's name at the carrier."),
    click.option("--base-url", help="The carrier's base URL (default: AMOP_CARRIER_BASE_URL)."),
    click.option("--time-zone", help="IANA time zone the account bills in, e.g. America/Chicago."),
    click.option(
        "--cycle-end-day",
        "billing_cycle_end_day",
        type=int,
        help="Last day of the billing cycle, billed whole: 1-31 (31 is month end).",
    ),
    click.option(
        "--cycle-end-hour",
        "billing_cycle_end_hour",
        type=int,
        help="Hours past the midnight after the end day at which the cycle closes, 0-23 (default 0).",
    ),
    click.option(
        "--start-hour", "optimization_start_hour", type=int, help="Hour the window's runs start, 0-23."
    ),
    click.option("--rate-limit", "rate_limit_per_second", type=int, help="Carrier calls a second, 1-10000."),
    click.option(
        "--auto-update/--no-auto-update", "auto_update_rate_plans", default=None, help="Push winning plans."
    ),
    click.option(
        "--setting", "settings_", multiple=True, help="A carrier setting KEY=VALUE (e.g. mdn_zip_code=60601)."
    ),
    click.option("--mail-to", help="The account's own mail recipients, comma-separated."),
    click.option("--currency", help="ISO 4217 code of the account's money in reports (default USD)."),
]


def _account_options(function):
    for option in reversed(_ACCOUNT_OPTIONS):
        function = option(function)
    return function


def _account_values(options: dict) -> dict:
    pairs = options.pop("settings_", ())
    malformed = [p for p in pairs if "=" not in p or not p.split("=", 1)[0].strip()]
    if malformed:
        raise click.ClickException(f"--setting {malformed[0]!r}: must be KEY=VALUE")
    if pairs:
        options["carrier_settings"] = {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in pairs)}
    return options


@main.group()
def providers() -> None:
    """Carrier accounts: add, list, edit (validated, audited)."""


@providers.command("list")
def providers_list() -> None:
    """Every carrier account with its settings."""
    from amop_pipelines.accounts import list_accounts

    accounts = list_accounts(_engine())
    for account in accounts:
        click.echo(account.line())
    click.echo(f"{len(accounts)} accounts")


@providers.command("add")
@click.option("--name", required=True, help="The account's name in AMOP (its partition key derives from it).")
@click.option("--integration", required=True, help="The carrier: one of the registered integrations.")
@_account_options
@click.option("--by", default=None, help="Who adds it (audited; with users set up, your token says).")
def providers_add(name: str, integration: str, by: str, **options) -> None:
    """Add a carrier account; a wrong value is refused by name and nothing is stored."""
    from amop_pipelines.accounts import AccountError, add_account
    from amop_pipelines.db import migrate

    migrate.upgrade(database_url())
    values = {"name": name, "integration": integration, **_account_values(options)}
    try:
        account = add_account(_engine(), values, _acting(by, "--by", "admin"))
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(account.line())


@providers.command("edit")
@click.argument("name")
@_account_options
@click.option("--active/--inactive", "is_active", default=None, help="Sync and optimize it, or not.")
@click.option("--by", default=None, help="Who edits it (audited; with users set up, your token says).")
def providers_edit(name: str, by: str, **options) -> None:
    """Change an account's settings (carrier settings are merged)."""
    from amop_pipelines.accounts import AccountError, edit_account

    try:
        account = edit_account(_engine(), name, _account_values(options), _acting(by, "--by", "admin"))
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(account.line())


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
@click.option("--revision", required=True, help="Alembic revision to go back to ('base' drops every table).")
@click.option(
    "--yes", "confirmed", is_flag=True, help="Confirm: the columns and tables removed lose their data."
)
def db_downgrade(revision: str, confirmed: bool) -> None:
    """Revert migrations down to REVISION, losing the data of what they added; needs --yes."""
    from amop_pipelines.db import migrate

    current = migrate.current_revision(database_url()) or "base"
    if not confirmed:
        raise click.ClickException(
            f"the database is at revision {current}; going back to {revision} deletes the data of every "
            "table and column added since. Nothing was changed: run again with --yes to do it"
        )
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
    """Sync and optimize the demo fleet against the simulator; print savings and the report path.

    Seeds the fleet first when the database is empty. The runs are recorded in the persistent
    Dagster instance, to inspect with `dagster dev -w workspace.yaml`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from amop_pipelines.demo.run import run_demo

    result = run_demo(devices=devices, seed=seed, echo=click.echo)
    if not result.success:
        sys.exit(1)


@main.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the UI listens on.")
@click.option("--port", default=3000, show_default=True, help="Port of the UI.")
@click.option("--seed", default=7, show_default=True, help="Seed of the demo fleet the simulator serves.")
def ui(host: str, port: int, seed: int) -> None:
    """Open the Dagster UI on the project's persistent instance (the one `amop demo` records in):
    runs, logs and step outputs survive restarts. Unless AMOP_CARRIER_BASE_URL names real
    carriers, it also serves the demo fleet from the carrier simulator and receives its callbacks,
    so that runs launched from the UI reach a carrier."""
    from amop_pipelines.demo.ui import open_ui

    sys.exit(open_ui(host, port, seed, echo=click.echo))


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
    """Write devices.csv in the contract format (docs/CONTRACTS.md)."""
    from amop_pipelines.contracts import OutputError
    from amop_pipelines.exports import ExportError, export_devices

    try:
        count = export_devices(_engine(), out, provider, billing_month, customer_pools)
    except (ExportError, OutputError) as error:
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
    """Write plans.csv in the contract format (docs/CONTRACTS.md)."""
    from amop_pipelines.contracts import OutputError
    from amop_pipelines.exports import ExportError, export_rate_plans

    try:
        count = export_rate_plans(_engine(), out, provider)
    except (ExportError, OutputError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {count:,} rate plans to {out.resolve()}")


@rate_plans.command("import")
@click.option("--provider", required=True, help="Service provider name.")
@click.argument("plans_csv", type=click.Path(dir_okay=False, path_type=Path))
def rate_plans_import(provider: str, plans_csv: Path) -> None:
    """Price rate plans from plans.csv (docs/CONTRACTS.md): carriers publish no prices.

    A file with any bad row is refused whole, one line per problem as FILE:ROW: field: message,
    and nothing is stored. Plans the file does not list keep their prices.
    """
    from amop_pipelines.price_book import PriceBookError, import_price_book
    from amop_pipelines.problems import InputError

    try:
        report = import_price_book(_engine(), provider, plans_csv)
    except InputError as error:
        for problem in str(error).splitlines():
            click.echo(problem, err=True)
        sys.exit(2)
    except PriceBookError as error:
        raise click.ClickException(str(error)) from error
    for line in report.lines():
        click.echo(line)


@main.command("optimize")
@click.option("--devices", "devices_csv", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--plans", "plans_csv", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--cycle-days", type=click.IntRange(1, 31), required=True, help="Days in the billing cycle (proration)."
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="assignments.csv to write."
)
@click.option("--method", type=click.Choice(["exact", "legacy"]), default="exact", show_default=True)
def optimize(devices_csv: Path, plans_csv: Path, cycle_days: int, out: Path, method: str) -> None:
    """Find the cheapest plan for every device; the last line printed is total_cost=<amount>.

    Bad input exits non-zero with one line per problem as FILE:ROW: field: message (ROW is the
    line in the file, the header being line 1), and writes nothing.
    """
    from amop_pipelines.contracts import OutputError
    from amop_pipelines.optimization.files import optimize_files
    from amop_pipelines.optimization.inputs import InputError

    with _progress_bar() as progress:
        try:
            summary = optimize_files(devices_csv, plans_csv, cycle_days, out, method, progress=progress)
        except InputError as error:
            for problem in str(error).splitlines():
                click.echo(problem, err=True)
            sys.exit(2)
        except OutputError as error:
            raise click.ClickException(str(error)) from None
    for line in summary.lines():
        click.echo(line)


class _progress_bar:
    """A progress bar on standard error, shown only once work has taken a couple of seconds."""

    DELAY_SECONDS = 2.0

    def __enter__(self):
        import time

        self._started = time.monotonic()
        self._bar = None
        return self._update

    def _update(self, done: int, total: int) -> None:
        import time

        if self._bar is None:
            if time.monotonic() - self._started < self.DELAY_SECONDS:
                return
            self._bar = click.progressbar(length=total, label="optimizing", file=sys.stderr)
            self._bar.__enter__()
            self._bar.update(done)
            return
        self._bar.update(done - self._bar.pos)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@main.group()
def simulator() -> None:
    """The local carrier simulator (Jasper and ThingSpace over real HTTP)."""


@simulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="AMOP_SIM_HOST")
@click.option("--port", default=8710, show_default=True, envvar="AMOP_SIM_PORT")
@click.option(
    "--devices", default=5000, show_default=True, envvar="AMOP_SIM_DEVICES", help="Demo fleet size."
)
@click.option("--seed", default=7, show_default=True, envvar="AMOP_SIM_SEED", help="Demo fleet seed.")
@click.option(
    "--fleet",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A devices.csv to serve (on the Jasper account) instead of the demo fleet.",
)
@click.option("--jasper-username", envvar="AMOP_SIM_JASPER_USERNAME", default="amop-demo", show_default=True)
@click.option(
    "--jasper-api-key", envvar="AMOP_SIM_JASPER_API_KEY", default="demo-jasper-api-key", show_default=True
)
@click.option("--thingspace-client-id", envvar="AMOP_SIM_THINGSPACE_CLIENT_ID", default="demo-ts-client")
@click.option(
    "--thingspace-client-secret", envvar="AMOP_SIM_THINGSPACE_CLIENT_SECRET", default="demo-ts-secret"
)
@click.option("--thingspace-username", envvar="AMOP_SIM_THINGSPACE_USERNAME", default="amop-demo")
@click.option("--thingspace-password", envvar="AMOP_SIM_THINGSPACE_PASSWORD", default="demo-ts-password")
def simulator_serve(host: str, port: int, devices: int, seed: int, fleet: Path | None, **creds: str) -> None:
    """Serve both carrier APIs until interrupted, printing base URLs and accepted credentials."""
    import uvicorn

    from amop_pipelines.demo.simulated_fleet import seed_demo_fleet, seed_fleet_file
    from amop_pipelines.simulator.app import create_app
    from amop_pipelines.simulator.state import Credentials, SimState

    state = SimState(Credentials(**creds), seed=seed)
    if fleet is not None:
        seed_fleet_file(state, fleet)
    else:
        seed_demo_fleet(state, devices=devices, seed=seed)
    base = f"http://{host}:{port}"
    click.echo(
        f"Jasper REST:      {base}/rws/api/v1  (Basic {creds['jasper_username']}:{creds['jasper_api_key']})"
    )
    oauth = f"{creds['thingspace_client_id']}:{creds['thingspace_client_secret']}"
    login = f"{creds['thingspace_username']}:{creds['thingspace_password']}"
    click.echo(f"ThingSpace M2M:   {base}/api/m2m/v1  (OAuth {oauth}, login {login})")
    click.echo(f"control API:      {base}/_sim  ({len(state.devices):,} devices)")
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning")


@main.group()
def changes() -> None:
    """Bulk device changes: submit a CSV file, approve, follow status and audit trail, roll back."""


@changes.command("types")
def changes_types() -> None:
    """Each change type with its CSV columns (* required) and whether it always needs approval."""
    for spec in CHANGE_TYPES.values():
        approval = "  (always needs approval)" if spec.always_critical else ""
        click.echo(f"{spec.name}: {spec.title}{approval}")
        for column in spec.columns:
            click.echo(f"  {column.name}{'*' if column.required else ''}  {column.description}")


@changes.command("submit")
@click.argument("change_type")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--requested-by",
    default=None,
    help="Who asks for the change (default operator; with users set up, your token says).",
)
@click.option(
    "--priority",
    type=click.Choice(OPERATOR_CHOICES),
    default="normal",
    show_default=True,
    help="What goes first (pushes before billing close go ahead of all).",
)
@click.option(
    "--dry-run", is_flag=True, help="Check the file and show what would change and cost; store nothing."
)
def changes_submit(
    change_type: str, file: Path, requested_by: str | None, priority: str, dry_run: bool
) -> None:
    """File a bulk change request of CHANGE_TYPE from FILE.csv; the last line is request_id=<id>.

    A file with any invalid row is rejected whole, one line per problem as FILE:ROW: field:
    message, and nothing is stored. `amop changes types` lists each type's columns.
    """
    from amop_pipelines.changes.priorities import PRIORITIES
    from amop_pipelines.changes.requests import ChangeError, RejectedFile, status, submit_file
    from amop_pipelines.db import migrate

    migrate.upgrade(database_url())
    engine = _engine()
    requester = _acting(requested_by, "--requested-by", "requester", "operator")
    try:
        if dry_run:
            from amop_pipelines.changes.dry_run import dry_run as rehearse

            for line in rehearse(engine, change_type, file, requester).lines():
                click.echo(line)
            return
        request_id = submit_file(
            engine,
            change_type,
            file,
            requester,
            PRIORITIES[priority],
            step=lambda line: click.echo(line, err=True),
        )
    except RejectedFile as rejected:
        click.echo(str(rejected), err=True)  # the first problems and how many in all
        sys.exit(2)
    except ChangeError as error:
        raise click.ClickException(str(error)) from error
    for line in status(engine, request_id).lines():
        click.echo(line)
    if _notify_approvers(engine, request_id):
        click.echo("approvers notified")
    click.echo(f"request_id={request_id}")


def _notify_approvers(engine, request_id: str) -> bool:
    """The approval notice, through the notifier the code location uses (its EnvVars resolved)."""
    import dagster as dg

    from amop_pipelines.changes.summaries import approval_notice
    from amop_pipelines.defs.shared.notifier import notifier_from_env

    notice = approval_notice(engine, request_id)
    if notice is None:
        return False
    with dg.build_resources({"notifier": notifier_from_env()}) as resources:
        resources.notifier.send(engine, "approval", notice.subject, notice.body)
    return True


@changes.command("approve")
@click.argument("request_id")
@click.option(
    "--by",
    "approver",
    default=None,
    help="Who approves (never the requester; with users set up, your token says).",
)
def changes_approve(request_id: str, approver: str) -> None:
    """Approve a request that waits for approval."""
    from amop_pipelines.changes.requests import ChangeError, approve

    approver = _acting(approver, "--by", "approver")
    try:
        state = approve(_engine(), request_id, approver)
    except ChangeError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"request {request_id} approved by {approver}: {state}")


@changes.command("status")
@click.argument("request_id")
def changes_status(request_id: str) -> None:
    """Print the request's state and its items' counts by state."""
    from amop_pipelines.changes.requests import ChangeError, status

    try:
        for line in status(_engine(), request_id).lines():
            click.echo(line)
    except ChangeError as error:
        raise click.ClickException(str(error)) from error


@changes.command("audit")
@click.argument("request_id")
def changes_audit(request_id: str) -> None:
    """Print the request's audit trail: who, what, before, after, when."""
    from amop_pipelines.changes.requests import ChangeError, audit_trail

    try:
        for line in audit_trail(_engine(), request_id):
            click.echo(line)
    except ChangeError as error:
        raise click.ClickException(str(error)) from error


@changes.command("list")
@click.option("--status", "state", default=None, help="Only requests in this state (e.g. awaiting_approval).")
@click.option("--provider", default=None, help="Only requests of this service provider (its name).")
def changes_list(state: str | None, provider: str | None) -> None:
    """Change requests, newest first: id, type, state, items, provider, requester, filed at."""
    from amop_pipelines.changes.administration import list_requests
    from amop_pipelines.changes.requests import ChangeError

    try:
        rows = list_requests(_engine(), state, provider)
    except ChangeError as error:
        raise click.ClickException(str(error)) from error
    for row in rows:
        click.echo(row.line())
    click.echo(f"{len(rows)} requests")


@changes.command("cancel")
@click.argument("request_id")
@click.option("--by", default=None, help="Who cancels (audited; with users set up, your token says).")
def changes_cancel(request_id: str, by: str) -> None:
    """Cancel the request's items not sent to the carrier yet (sent ones finish)."""
    from amop_pipelines.changes.administration import cancel_request
    from amop_pipelines.changes.requests import ChangeError

    try:
        cancelled, state = cancel_request(_engine(), request_id, _acting(by, "--by", "requester"))
    except ChangeError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"request {request_id}: {cancelled} items cancelled; state: {state}")


@changes.command("retry")
@click.argument("request_id")
@click.option("--by", default=None, help="Who retries (audited; with users set up, your token says).")
def changes_retry(request_id: str, by: str) -> None:
    """Run the request's failed and dead items again, as a new round (the sensor launches it)."""
    from amop_pipelines.changes.administration import retry_request
    from amop_pipelines.changes.requests import ChangeError

    try:
        retried = retry_request(_engine(), request_id, _acting(by, "--by", "requester"))
    except ChangeError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"request {request_id}: {retried} items to run again; state: pending")


@changes.command("export")
@click.argument("request_id")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The CSV file to write (a new file or one this command wrote).",
)
def changes_export(request_id: str, out: Path) -> None:
    """Each item's outcome as CSV: row, iccid, state, step, attempts, last_error,
    carrier_request_id, completed_at, parameters, previous_values."""
    from amop_pipelines.changes.administration import export_items
    from amop_pipelines.changes.requests import ChangeError
    from amop_pipelines.contracts import OutputError

    try:
        rows = export_items(_engine(), request_id, out)
    except (ChangeError, OutputError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{rows} items written to {out}")


def _acting(typed: str | None, option: str, role: str, default: str | None = None) -> str:
    """Who acts. With users set up (`amop users`), the user AMOP_TOKEN proves, holding `role`; a
    name typed beside it must be theirs. Before the first user, the typed name as given."""
    from amop_pipelines.db import migrate
    from amop_pipelines.identities import identities_enabled

    migrate.upgrade(database_url())
    if identities_enabled(_engine()):
        return _proven(role, typed).name
    name = typed if typed is not None else default
    if name is None or not name.strip():
        raise click.ClickException(f"{option} must name someone")
    return name.strip()


@changes.command("rollback")
@click.argument("request_id")
@click.option(
    "--requested-by",
    default=None,
    help="Who asks for the rollback (default operator; with users, your token says).",
)
def changes_rollback(request_id: str, requested_by: str | None) -> None:
    """File a request taking each device a rate plan request changed back to its previous plan;
    the last line is request_id=<id>."""
    from amop_pipelines.changes.requests import ChangeError, RejectedFile, rollback_request, status

    engine = _engine()
    try:
        new_id = rollback_request(
            engine, request_id, _acting(requested_by, "--requested-by", "requester", "operator")
        )
    except RejectedFile as rejected:  # a device changed since: its previous plan no longer fits
        click.echo(str(rejected), err=True)
        sys.exit(2)
    except ChangeError as error:
        raise click.ClickException(str(error)) from error
    for line in status(engine, new_id).lines():
        click.echo(line)
    click.echo(f"request_id={new_id}")


@main.group()
def users() -> None:
    """The people who act in AMOP, their roles (requester, approver, admin) and tokens."""


def _proven(role: str, claimed: str | None = None):
    """The user AMOP_TOKEN proves, holding `role` (a name typed beside it must be theirs)."""
    from amop_pipelines.identities import IdentityError, acting_user

    try:
        return acting_user(_engine(), settings.get(settings.TOKEN_ENV), role, claimed)
    except IdentityError as error:
        raise click.ClickException(str(error)) from None


def _admin_or_first():
    """The acting admin, or None when no user exists yet (the first one is being added)."""
    from amop_pipelines.identities import identities_enabled

    return _proven("admin") if identities_enabled(_engine()) else None


@users.command("add")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, help="requester, approver or admin (repeatable)."
)
def users_add(name: str, roles: tuple[str, ...]) -> None:
    """Add a user (an admin's AMOP_TOKEN needed, except for the first user, an admin) and print
    their token: it is shown once and stored only as a hash."""
    from amop_pipelines.db import migrate
    from amop_pipelines.identities import IdentityError, add_user

    migrate.upgrade(database_url())
    try:
        token = add_user(_engine(), name, list(roles), _admin_or_first())
    except IdentityError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{name.strip()} added ({', '.join(sorted(set(roles)))}); their token, shown this once:")
    click.echo(token)


@users.command("token")
@click.argument("name")
def users_token(name: str) -> None:
    """A new token for NAME (yours, or anyone's for an admin); the old one stops working."""
    from amop_pipelines.identities import IdentityError, authenticate, new_token

    try:
        token = new_token(_engine(), name, authenticate(_engine(), settings.get(settings.TOKEN_ENV)))
    except IdentityError as error:
        raise click.ClickException(str(error)) from None
    click.echo(token)


@users.command("revoke")
@click.argument("name")
def users_revoke(name: str) -> None:
    """Revoke NAME's token (an admin's AMOP_TOKEN needed); `amop users token` gives a new one."""
    from amop_pipelines.identities import IdentityError, revoke

    try:
        revoke(_engine(), name, _proven("admin"))
    except IdentityError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{name} revoked")


@users.command("list")
def users_list() -> None:
    """Every user with their roles, and whether their token works."""
    from amop_pipelines.identities import list_users

    for name, roles, active in list_users(_engine()):
        click.echo(f"{name}  {roles}  {'active' if active else 'revoked'}")


@main.group()
def callbacks() -> None:
    """The carrier callback receiver."""


@callbacks.command("register")
@click.option("--url", default=None, help="The receiver's public URL (default: AMOP_CALLBACK_URL).")
@click.option("--provider", default=None, help="Service provider name (default: every active one).")
def callbacks_register(url: str, provider: str | None) -> None:
    """Register the receiver for the accounts' callbacks (ThingSpace: CarrierService and
    DeviceUsage), with the username (AMOP_CALLBACK_USERNAME, default amop) and password
    (AMOP_CALLBACK_SECRET) the carrier will echo in every callback."""

    import dagster as dg

    from amop_pipelines import settings
    from amop_pipelines.carriers.base import CarrierConfigError
    from amop_pipelines.carriers.errors import CarrierError
    from amop_pipelines.changes.callbacks import register_receiver
    from amop_pipelines.defs.shared.carriers import carriers_from_env

    try:
        secret = settings.require(
            settings.CALLBACK_SECRET_ENV, "the carrier will echo it for the receiver to check"
        )
        url = url or settings.require("AMOP_CALLBACK_URL", "or give --url: where the carrier calls back")
    except settings.SettingError as error:
        raise click.ClickException(str(error)) from None
    try:  # the resource as a run builds it: its EnvVar settings resolved
        with dg.build_resources({"carriers": carriers_from_env()}) as resources:
            registered = register_receiver(_engine(), resources.carriers.for_provider, url, secret, provider)
    except (ValueError, CarrierConfigError, CarrierError) as error:
        raise click.ClickException(str(error)) from error
    for name, services in registered.items():
        click.echo(f"{name}: {', '.join(services) or 'no callbacks (answers at once)'} -> {url}")


@callbacks.command("serve")
@click.option("--host", default=None, help="Listen here (default: AMOP_CALLBACK_HOST, 127.0.0.1).")
@click.option(
    "--port", default=None, type=click.IntRange(1, 65535), help="Port (default: AMOP_CALLBACK_PORT, 8720)."
)
def callbacks_serve(host: str | None, port: int | None) -> None:
    """Receive carrier callbacks at /callbacks/thingspace (AMOP_CALLBACK_SECRET must be set)."""
    import uvicorn

    from amop_pipelines.changes.callbacks import receiver_app

    host = host or settings.get(settings.CALLBACK_HOST_ENV)
    port = port or settings.get(settings.CALLBACK_PORT_ENV)
    try:
        app = receiver_app(_engine())
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"callbacks: http://{host}:{port}/callbacks/thingspace?token=<AMOP_CALLBACK_SECRET>")
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
