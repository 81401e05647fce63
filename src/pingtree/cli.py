"""``pingtree serve | demo | migrate | apply | replay | export | key | token | secret | user |
erase | accounts | test-buyer | mockbuyer``."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from pingtree.cli_accounts import accounts_app
from pingtree.cli_credentials import key_app, secret_app, token_app, user_app
from pingtree.cli_erase import erase
from pingtree.cli_replay import replay, span
from pingtree.cli_support import DatabaseUrl, DataDir, settings_from, with_sessions
from pingtree.cli_test_buyer import try_buyer_command

# Each command imports what it needs when it runs: the server's modules cost a second of
# CPU to import, which `pingtree user create` or `pingtree apply` need not pay.

__all__ = ["main"]

app = typer.Typer(help="pingtree: real-time ping/post lead distribution.", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(token_app, name="token")
app.add_typer(secret_app, name="secret")
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


# registered here to keep `pingtree --help`'s order
app.command()(erase)
app.command("test-buyer")(try_buyer_command)


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
