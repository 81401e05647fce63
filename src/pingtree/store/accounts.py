"""Buyers' accounts: the counter the auction checks, kept in step with the ledger.

A buyer with an account (``domain.parties.Account``) has one cap counter, scope
``account:<id>`` and window ``balance`` (``domain.caps.account_charge``), whose committed
``used`` is **minus its balance plus what its pending sales hold**:

- a sale adds its price when it is committed, through the cap ledger, atomically with the
  sale on both engines (the same conditional update as a cap: ``used + price <= credit
  limit``, 0 for a prepaid buyer); a sale the buyer rejects gives it back (a refund);
- a top-up, an approved return's credit or an adjustment in the buyer's favour takes its
  amount off (:func:`credit_account`), in the transaction of its ledger entry;
- when an account is opened (a buyer's configuration gains one), the counter is set from
  the ledger (:func:`open_accounts`): a buyer's whole history counts, so a buyer on credit
  that never paid owes what it bought.

So the ledger's balance of a buyer equals minus its counter whenever no sale of it is in
flight (a test checks this on both engines), and the counter can be rebuilt from the ledger.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.caps import ACCOUNT_WINDOW, account_scope
from pingtree.store.ledger import buyer_account
from pingtree.store.tables import CapUsage, LedgerEntry, Sale

__all__ = [
    "IN_FLIGHT",
    "AccountCheck",
    "account_counter",
    "check_accounts",
    "credit_account",
    "open_accounts",
]

#: the statuses of a sale whose price its buyer's account holds without a ledger entry yet
IN_FLIGHT = ("pending", "unknown")


async def account_counter(session: AsyncSession, buyer_id: str) -> int | None:
    """The buyer's counter (minus its balance, plus its sales in flight), or ``None`` when
    it has no account opened."""
    value = await session.scalar(
        select(CapUsage.used).where(
            CapUsage.scope == account_scope(buyer_id), CapUsage.window_key == ACCOUNT_WINDOW
        )
    )
    return None if value is None else int(value)


@dataclass(frozen=True)
class AccountCheck:
    """A buyer's account counter against the ledger: ``counter`` should be
    ``in_flight - balance``."""

    buyer_id: str
    balance: int
    in_flight: int
    counter: int

    @property
    def expected(self) -> int:
        return self.in_flight - self.balance

    @property
    def agrees(self) -> bool:
        return self.counter == self.expected


async def check_accounts(session: AsyncSession) -> list[AccountCheck]:
    """Every opened account's counter next to what the ledger and the sales in flight say
    it should be (``pingtree accounts check``)."""
    rows = await session.execute(
        select(CapUsage.scope, CapUsage.used).where(
            CapUsage.scope.startswith(account_scope("")), CapUsage.window_key == ACCOUNT_WINDOW
        )
    )
    checks = []
    for scope, used in rows.all():
        buyer_id = scope.removeprefix(account_scope(""))
        balance, in_flight = await _standing(session, buyer_id)
        checks.append(AccountCheck(buyer_id, balance, in_flight, int(used)))
    return sorted(checks, key=lambda check: check.buyer_id)


async def _standing(session: AsyncSession, buyer_id: str) -> tuple[int, int]:
    """The buyer's live ledger balance and the prices of its live sales in flight."""
    balance = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.account == buyer_account(buyer_id), LedgerEntry.test.is_(False)
        )
    )
    in_flight = await session.scalar(
        select(func.coalesce(func.sum(Sale.revenue_cents), 0)).where(
            Sale.buyer_id == buyer_id, Sale.status.in_(IN_FLIGHT), Sale.test.is_(False)
        )
    )
    return int(balance or 0), int(in_flight or 0)


async def open_accounts(session: AsyncSession, buyer_ids: Collection[str]) -> None:
    """Set each buyer's counter from the ledger, in ``session``'s transaction: minus its
    live balance, plus the prices of its live sales still in flight."""
    if not buyer_ids:
        return
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for buyer_id in sorted(buyer_ids):
        balance, in_flight = await _standing(session, buyer_id)
        used = in_flight - balance
        statement = upsert(CapUsage).values(
            scope=account_scope(buyer_id), window_key=ACCOUNT_WINDOW, used=used
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["scope", "window_key"], set_={"used": used}
            )
        )


async def credit_account(session: AsyncSession, buyer_id: str, cents: int) -> None:
    """Give the buyer ``cents`` more room (less when negative), in the transaction that
    writes the ledger entry of it. Nothing when the buyer has no account opened: its
    counter is set from the ledger the day it gets one. The caller tells the cap ledger
    once committed (``CapLedger.after_refund``), so that the Redis cache reads it again."""
    await session.execute(
        update(CapUsage)
        .where(CapUsage.scope == account_scope(buyer_id), CapUsage.window_key == ACCOUNT_WINDOW)
        .values(used=CapUsage.used - cents)
    )
