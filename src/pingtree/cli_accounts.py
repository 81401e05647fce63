"""``pingtree accounts check [--repair]``: each buyer's account counter (what the auction
checks) against the ledger (what it should be), the proof that balances can be rebuilt from
the ledger; ``--repair`` rebuilds those that disagree.

Run it while no sale is being delivered for an exact answer: a sale committed between the
two reads shows as a difference of its price, gone on the next run.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.cli_support import DatabaseUrl, DataDir, settings_from, with_sessions
from pingtree.domain.money import format_money, from_cents
from pingtree.store.accounts import AccountCheck, check_accounts, open_accounts

__all__ = ["accounts_app"]

accounts_app = typer.Typer(help="Buyers' prepaid and credit accounts.", no_args_is_help=True)


@accounts_app.command("check")
def check(
    repair: Annotated[
        bool, typer.Option("--repair", help="rebuild the counters that disagree from the ledger")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Each account's balance (from the ledger), sales in flight and counter; exits 1 when
    one disagrees (and was not repaired)."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[AccountCheck]:
        async with sessions.begin() as session:
            checks = await check_accounts(session)
            if repair:
                await open_accounts(session, [c.buyer_id for c in checks if not c.agrees])
            return checks

    checks = with_sessions(settings_from(data_dir, database_url), work)
    wrong = [c for c in checks if not c.agrees]
    for c in checks:
        verdict = "ok" if c.agrees else ("repaired" if repair else "DISAGREES")
        typer.echo(
            f"{c.buyer_id}: balance {_money(c.balance)}, in flight {_money(c.in_flight)},"
            f" counter {_money(c.counter)} (expected {_money(c.expected)}): {verdict}"
        )
    if not checks:
        typer.echo("no buyer has an account")
    if wrong and not repair:
        raise typer.Exit(1)


def _money(cents: int) -> str:
    return format_money(from_cents(cents))
