"""``pingtree test-buyer``: a sample ping (and post) sent to one order's endpoints, with
the requests, answers and readings shown (``flows.try_buyer``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pingtree.cli_support import DatabaseUrl, DataDir, settings_from, with_sessions

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["try_buyer_command"]


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
