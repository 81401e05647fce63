"""``pingtree serve | demo | migrate | apply | replay | export | key | token | secret | user |
erase | accounts | test-buyer | mockbuyer``."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pingtree.cli_accounts import accounts_app
from pingtree.cli_replay import replay, span
from pingtree.cli_support import DatabaseUrl, DataDir, settings_from, with_sessions

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from pingtree.config.schema import ConfigDocument

# Each command imports what it needs when it runs: the server's modules cost a second of
# CPU to import, which `pingtree user create` or `pingtree apply` need not pay.

__all__ = ["main"]

app = typer.Typer(help="pingtree: real-time ping/post lead distribution.", no_args_is_help=True)
key_app = typer.Typer(help="Campaign API keys.", no_args_is_help=True)
token_app = typer.Typer(help="Admin API tokens.", no_args_is_help=True)
app.add_typer(key_app, name="key")
secret_app = typer.Typer(help="Buyer credentials, stored encrypted.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(secret_app, name="secret")
user_app = typer.Typer(help="People who sign in to the admin UI.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(accounts_app, name="accounts")
app.command()(replay)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="[env PINGTREE_HOST, default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[env PINGTREE_PORT, default 8000]")] = None,
    workers: Annotated[
        int | None, typer.Option(help="worker processes [env PINGTREE_WORKERS]")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    redis_url: Annotated[str | None, typer.Option(help="[env PINGTREE_REDIS_URL]")] = None,
) -> None:
    """Run the HTTP server."""
    # Start-up builds what lives on (modules, routes, the app, its snapshot): a collection
    # meanwhile frees nothing yet walks all of it, a tenth of the start's CPU. Off until the
    # app has started (``api.app``), which collects once, freezes what it built and turns
    # collections on again.
    gc.disable()
    import uvicorn

    from pingtree.metrics import MULTIPROCESS_ENV, prepare_multiprocess_dir
    from pingtree.store.migrations import migrate as run_migrations
    from pingtree.store.secrets import load_server_key

    settings = settings_from(
        data_dir, database_url, host=host, port=port, workers=workers, redis_url=redis_url
    )
    # migrate once here, not in every worker
    asyncio.run(run_migrations(settings.resolved_database_url()))
    load_server_key(settings.secret_key, settings.data_dir)
    for name, value in {
        "PINGTREE_DATA_DIR": str(settings.data_dir),
        "PINGTREE_DATABASE_URL": settings.resolved_database_url(),
        "PINGTREE_REDIS_URL": settings.redis_url or "",
        "PINGTREE_MIGRATE_ON_START": "false",
        # each worker sizes its database pool to its share of the connections
        "PINGTREE_WORKERS": str(settings.workers),
    }.items():
        os.environ[name] = value
    if not settings.redis_url:
        os.environ.pop("PINGTREE_REDIS_URL")
    if settings.workers > 1:
        # before uvicorn starts the workers, which choose prometheus-client's mode on import
        os.environ[MULTIPROCESS_ENV] = str(prepare_multiprocess_dir(settings.data_dir))
        # this process only supervises the workers, each started afresh
        gc.enable()
    uvicorn.run(
        "pingtree.api.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        access_log=False,
    )


@app.command()
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Upgrade the database schema to the latest version."""
    from pingtree.store.migrations import migrate as run_migrations

    settings = settings_from(data_dir, database_url)
    asyncio.run(run_migrations(settings.resolved_database_url()))
    typer.echo("database is up to date")


@app.command()
def apply(
    file: Annotated[Path, typer.Argument(help="a YAML configuration file, or - for stdin")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the changes only")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="archive what the file omits")] = False,
    replay_since: Annotated[
        str | None,
        typer.Option("--replay", help="with --dry-run: replay this far back (7d) and summarize"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Validate a configuration file and apply it atomically."""
    if replay_since is not None and (not dry_run or prune):
        raise typer.BadParameter("--replay goes with --dry-run, without --prune")
    from pingtree.config.apply import apply_config
    from pingtree.config.errors import ConfigError

    text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    settings = settings_from(data_dir, database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        diff = with_sessions(
            settings,
            lambda sessions: apply_config(sessions, text, now, prune=prune, dry_run=dry_run),
        )
    except ConfigError as error:
        typer.echo(f"{file}: invalid configuration", err=True)
        for issue in error.issues:
            typer.echo(f"  {issue.path}: {issue.msg}", err=True)
        raise typer.Exit(1) from None
    typer.echo(diff.render() or "no changes")
    if dry_run:
        typer.echo("(dry run: nothing was written)")
    if replay_since is not None:
        from pingtree.flows.whatif import summary_lines, what_if

        until = dt.datetime.now(dt.UTC)
        since = until - span(replay_since)
        report = with_sessions(settings, lambda sessions: what_if(sessions, text, since, until))
        for line in summary_lines(report, limit=10):
            typer.echo(line)


@app.command()
def export(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print the whole configuration as YAML."""
    from pingtree.config.apply import export_config

    typer.echo(with_sessions(settings_from(data_dir, database_url), export_config), nl=False)


def _create_key(
    role: str, campaign_id: str | None, label: str, data_dir: Path | None, database_url: str | None
) -> str:
    from pingtree.bootstrap import create_api_key

    settings = settings_from(data_dir, database_url)
    if campaign_id is not None:
        document = with_sessions(settings, _stored_document)
        known = {c.id for supplier in document.suppliers for c in supplier.campaigns}
        if campaign_id not in known:
            typer.echo(
                f"no campaign {campaign_id!r}: apply a configuration with it first", err=True
            )
            raise typer.Exit(1)
    return asyncio.run(create_api_key(settings, role, campaign_id, label))


async def _stored_document(sessions: async_sessionmaker[AsyncSession]) -> ConfigDocument:
    from pingtree.store.config_repo import ConfigRepository

    async with sessions() as session:
        return await ConfigRepository(session).load_document()


@key_app.command("create")
def key_create(
    campaign: Annotated[str, typer.Argument(help="the campaign id")],
    label: str = "",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a campaign API key; it is printed once and only its HMAC is kept."""
    typer.echo(_create_key("campaign", campaign, label, data_dir, database_url))


@token_app.command("create")
def token_create(
    label: str = "", data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Create an admin API token; it is printed once and only its HMAC is kept."""
    typer.echo(_create_key("admin", None, label, data_dir, database_url))


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="the name to sign in with")],
    role: Annotated[
        str,
        typer.Option(
            help="admin, operator, analyst (never sees PII), supplier or buyer;"
            " --supplier or --buyer alone implies its role"
        ),
    ] = "admin",
    supplier: Annotated[
        str | None, typer.Option("--supplier", help="bind the user to this supplier id")
    ] = None,
    buyer: Annotated[
        str | None, typer.Option("--buyer", help="bind the user to this buyer id")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="PINGTREE_ADMIN_PASSWORD",
            help="[env PINGTREE_ADMIN_PASSWORD; default: asked for, twice]",
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user of the admin UI; only an argon2 hash of the password is kept. A
    supplier or buyer user is bound to one supplier or buyer of the configuration."""
    from pingtree.store.config_repo import ConfigRepository
    from pingtree.store.users import UserRepository

    if role == "admin" and (supplier or buyer):
        role = "supplier" if supplier else "buyer"
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def create(sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions.begin() as session:
            doc = await ConfigRepository(session).load_document()
            if supplier is not None and supplier not in {s.id for s in doc.suppliers}:
                raise ValueError(f"no supplier {supplier!r} in the configuration")
            if buyer is not None and buyer not in {b.id for b in doc.buyers}:
                raise ValueError(f"no buyer {buyer!r} in the configuration")
            await UserRepository(session).create(
                username,
                password,
                role,
                dt.datetime.now(dt.UTC),
                supplier_id=supplier,
                buyer_id=buyer,
            )

    try:
        with_sessions(settings_from(data_dir, database_url), create)
    except ValueError as exc:  # a bad role, a short password, a taken name
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    bound = f" {role}:{supplier or buyer}" if supplier or buyer else f" ({role})"
    typer.echo(f"user {username} created{bound}")


@secret_app.command("set")
def secret_set(
    name: Annotated[str, typer.Argument(help="the name delivery specs use: {secret: NAME}")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Store a buyer credential, encrypted. The value is read from standard input (never
    from the command line, where other users could see it)."""
    from pingtree.store.buyer_secrets import SECRET_NAME, BuyerSecretRepository
    from pingtree.store.secrets import PiiVault, load_server_key

    if not SECRET_NAME.match(name):
        typer.echo("a secret name is letters, digits, '_', '.' or '-' (64 at most)", err=True)
        raise typer.Exit(1)
    value = sys.stdin.read().strip()
    settings = settings_from(data_dir, database_url)
    vault = PiiVault(load_server_key(settings.secret_key, settings.data_dir))

    async def store(sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions.begin() as session:
            await BuyerSecretRepository(session).set(name, value, vault, dt.datetime.now(dt.UTC))

    try:
        with_sessions(settings, store)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"secret {name} stored")


@secret_app.command("list")
def secret_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """The stored secrets' names and when each was set (never their values)."""
    from pingtree.store.buyer_secrets import BuyerSecretRepository

    async def listing(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, dt.datetime]]:
        async with sessions() as session:
            return list(await BuyerSecretRepository(session).listing())

    for name, updated in with_sessions(settings_from(data_dir, database_url), listing):
        typer.echo(f"{name}\t{updated.isoformat()}")


@app.command()
def erase(
    email: Annotated[str | None, typer.Option(help="the person's email address")] = None,
    phone: Annotated[str | None, typer.Option(help="the person's phone, any format")] = None,
    lead: Annotated[str | None, typer.Option(help="one lead's id")] = None,
    older_than_days: Annotated[
        int | None, typer.Option(min=1, help="every lead created more than N days ago")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Erase a person's PII everywhere (by email, phone or lead id), or every lead's older
    than N days; money records stay. Recorded in the erasures' audit trail as "cli"."""
    from pingtree.config.compile import compile_config
    from pingtree.domain.fields import FieldError
    from pingtree.flows.erase import Eraser, erase_consumer, erase_older_than
    from pingtree.flows.errors import InputError, NotFound
    from pingtree.store.secrets import PiiVault, load_server_key
    from pingtree.store.transactions import Transactions

    if (email, phone, lead, older_than_days) == (None, None, None, None):
        typer.echo("give --email, --phone, --lead or --older-than-days", err=True)
        raise typer.Exit(1)
    settings = settings_from(data_dir, database_url)
    vault = PiiVault(load_server_key(settings.secret_key, settings.data_dir))

    async def run(sessions: async_sessionmaker[AsyncSession]) -> str:
        verticals = compile_config(await _stored_document(sessions)).verticals
        eraser = Eraser(sessions, Transactions(sessions), vault, lambda: verticals, _utc_now)
        if older_than_days is not None and (email, phone, lead) == (None, None, None):
            erased = await erase_older_than(eraser, older_than_days, "cli")
            return f"erased the PII of {erased} lead(s) older than {older_than_days} day(s)"
        if older_than_days is not None:
            alone = "not with --email, --phone or --lead"
            raise InputError([FieldError(("body", "older_than_days"), alone, "value_error")])
        done = await erase_consumer(eraser, "cli", email=email, phone=phone, lead_id=lead)
        return f"erased the PII of {done['leads']} lead(s) (erasure {done['id']})"

    try:
        typer.echo(with_sessions(settings, run))
    except NotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except InputError as exc:
        for error in exc.errors:
            typer.echo(f"{_option(error.loc)}: {error.msg}", err=True)
        raise typer.Exit(1) from None


def _option(loc: tuple[str | int, ...]) -> str:
    """``--email`` for an error at ``("body", "email")``; ``erase`` for the whole call."""
    if len(loc) < 2:
        return "erase"
    name = str(loc[-1])
    return "--lead" if name == "lead_id" else "--" + name.replace("_", "-")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@app.command("test-buyer")
def try_buyer_command(
    order: Annotated[str, typer.Argument(help="the order whose delivery to test")],
    field: Annotated[
        list[str] | None, typer.Option("--field", help="NAME=VALUE to use instead of a sample")
    ] = None,
    post: Annotated[
        bool,
        typer.Option(
            "--post",
            help="also post the sample lead, after an accepted ping only (a live buyer may "
            "take it for a real sale: mark it with the step's test_marker)",
        ),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send a sample ping (and with --post a post) to an order's endpoints; show requests,
    answers, readings. Exits 1 when a step was not sent, not answered, unreadable or not
    accepted."""
    import yaml

    from pingtree.config.compile import compile_config
    from pingtree.delivery.client import create_client
    from pingtree.flows.errors import InputError, NotFound
    from pingtree.flows.try_buyer import try_buyer
    from pingtree.store.buyer_secrets import BuyerSecretRepository, env_secret
    from pingtree.store.config_repo import ConfigRepository
    from pingtree.store.secrets import PiiVault, load_server_key

    settings = settings_from(data_dir, database_url)
    overrides = dict(item.split("=", 1) for item in field or [] if "=" in item)

    async def run(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
        vault = PiiVault(load_server_key(settings.secret_key, settings.data_dir))
        async with sessions() as session:
            document = await ConfigRepository(session).load_document()
            stored = await BuyerSecretRepository(session).load(vault)

        def resolve_secret(name: str) -> str:
            return stored[name] if name in stored else env_secret(name)

        async with create_client(
            settings.outbound_connections,
            settings.outbound_connections_per_host,
            allow=settings.outbound_allow,
        ) as client:
            return await try_buyer(
                compile_config(document),
                order,
                overrides,
                client=client,
                resolve_secret=resolve_secret,
                post=post,
            )

    try:
        exchanges = with_sessions(settings, run)
    except NotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except InputError as exc:
        for error in exc.errors:
            typer.echo(f"--field {error.loc[-1]}: {error.msg}", err=True)
        raise typer.Exit(1) from None
    typer.echo(yaml.safe_dump(exchanges, sort_keys=False, allow_unicode=True), nl=False)
    if not all(exchange["ok"] for exchange in exchanges):
        raise typer.Exit(1)


@app.command()
def mockbuyer(
    config: Annotated[Path, typer.Argument(help="YAML/JSON of the endpoints and their behaviour")],
    host: str = "127.0.0.1",
    port: int = 8099,
) -> None:
    """Run the mock buyer: configurable ping/post endpoints for demos, tests and benchmarks."""
    from pingtree.mockbuyer import MockBuyer, run_mockbuyer

    def ready(buyer: MockBuyer) -> None:
        typer.echo(f"mock buyer listening on {buyer.url}")

    run_mockbuyer(config, host, port, on_ready=ready)


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="keep the data here (default: a temporary directory)")
    ] = None,
    traffic: Annotated[
        float, typer.Option(min=0, help="synthetic leads a second; 0 sends none")
    ] = 1.0,
    password: Annotated[
        str | None, typer.Option(help="the admin user's password (default: a random one)")
    ] = None,
) -> None:
    """Run a demo marketplace in one process: pingtree on SQLite, mock buyers, traffic."""
    from pingtree.demo import DemoAccess, DemoError, DemoOptions, banner, run_demo

    def ready(access: DemoAccess) -> None:
        typer.echo(banner(access))

    options = DemoOptions(host, port, data_dir, traffic, password)
    try:
        asyncio.run(run_demo(options, on_ready=ready, on_tally=typer.echo))
    except DemoError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


def main() -> None:
    app()
