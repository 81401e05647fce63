"""``pingtree key | token | user | secret``: who may come in (campaign API keys, admin API
tokens, users of the admin UI) and the credentials we send buyers, stored encrypted."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pingtree.cli_support import DatabaseUrl, DataDir, settings_from, stored_document, with_sessions

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["key_app", "secret_app", "token_app", "user_app"]

key_app = typer.Typer(help="Campaign API keys.", no_args_is_help=True)
token_app = typer.Typer(help="Admin API tokens.", no_args_is_help=True)
secret_app = typer.Typer(help="Buyer credentials, stored encrypted.", no_args_is_help=True)
user_app = typer.Typer(help="People who sign in to the admin UI.", no_args_is_help=True)


def _create_key(
    role: str, campaign_id: str | None, label: str, data_dir: Path | None, database_url: str | None
) -> str:
    from pingtree.bootstrap import create_api_key

    settings = settings_from(data_dir, database_url)
    if campaign_id is not None:
        document = with_sessions(settings, stored_document)
        known = {c.id for supplier in document.suppliers for c in supplier.campaigns}
        if campaign_id not in known:
            typer.echo(
                f"no campaign {campaign_id!r}: apply a configuration with it first", err=True
            )
            raise typer.Exit(1)
    return asyncio.run(create_api_key(settings, role, campaign_id, label))


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
