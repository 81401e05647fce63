"""``pingtree erase``: a person's PII erased everywhere (by email, phone or lead id), or
every lead's older than N days (``flows.erase``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from pingtree.cli_support import DatabaseUrl, DataDir, settings_from, stored_document, with_sessions

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["erase"]


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
        verticals = compile_config(await stored_document(sessions)).verticals
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
