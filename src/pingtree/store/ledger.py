"""The ledger: every money event an immutable entry in integer cents (DESIGN §9).

Entries are only ever inserted. A balance is the sum of an account's entries; a report's
money is a sum of entries grouped by their dimensions. Who writes what:

- :func:`book_sales`, called by ``SaleRepository`` whenever a sale is inserted, changes
  status or has its payout split again (:func:`book_new_sales` when a post's verdict sells it):
  a sold sale's ``sale`` entry (the buyer pays its price) and ``payout`` entry (the
  supplier earns its cost), dated the sale's ``created_at``. A later change to a booked
  sale (a payout split again by the waterfall) is an ``adjustment`` entry of the
  difference, dated when it happened: a closed period never changes.
- returns (``flows.returns``): a ``return`` entry crediting the buyer and, by the
  campaign's rule, a ``chargeback`` to the supplier, dated the approval.
- operators: ``topup`` and ``adjustment`` entries with who and why (:meth:`LedgerRepository.add`).

Test traffic's entries carry ``test``: balances never count them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Any

import uuid_utils
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, LedgerEntry, Sale

__all__ = [
    "SYSTEM",
    "EntryKind",
    "LedgerRepository",
    "book_new_sales",
    "book_sales",
    "buyer_account",
    "entry_values",
    "first_entries",
    "new_entry",
    "supplier_account",
]

#: the principal of the entries the sale path writes
SYSTEM = "system"

_ENTRY = Base.metadata.tables[LedgerEntry.__tablename__]
_INSERT_ENTRIES = Prepared(insert(_ENTRY), deferrable=True)


class EntryKind(StrEnum):
    SALE = "sale"
    PAYOUT = "payout"
    RETURN = "return"
    CHARGEBACK = "chargeback"
    TOPUP = "topup"
    ADJUSTMENT = "adjustment"


def buyer_account(buyer_id: str) -> str:
    return f"buyer:{buyer_id}"


def supplier_account(supplier_id: str) -> str:
    return f"supplier:{supplier_id}"


def new_entry(
    kind: EntryKind,
    account: str,
    amount_cents: int,
    at: dt.datetime,
    *,
    principal: str = SYSTEM,
    note: str = "",
    sale: Sale | None = None,
    return_id: str | None = None,
    test: bool = False,
) -> LedgerEntry:
    """An entry, with a sale's ids and dimensions when it is of one."""
    return LedgerEntry(
        id=str(uuid_utils.uuid7()),
        kind=kind.value,
        account=account,
        amount_cents=amount_cents,
        at=at,
        sale_id=sale.id if sale else None,
        lead_id=sale.lead_id if sale else None,
        return_id=return_id,
        campaign_id=sale.campaign_id if sale else None,
        supplier_id=sale.supplier_id if sale else None,
        buyer_id=sale.buyer_id if sale else None,
        order_id=sale.order_id if sale else None,
        vertical_id=sale.vertical_id if sale else None,
        test=sale.test if sale else test,
        principal=principal,
        note=note,
    )


async def book_new_sales(session: AsyncSession, sales: Sequence[Sale]) -> None:
    """The first entries of sales that have just become sold, in ``session``'s transaction:
    inserted sold (an order with no post step) or sold by a post's verdict. Only a sold sale
    is ever booked and ``sold`` is final, so they have none yet and nothing need be read
    (:func:`book_sales` would find the same); the others are skipped."""
    entries = [entry for sale in sales if sale.status == "sold" for entry in first_entries(sale)]
    await _insert(session, entries)


async def book_sales(session: AsyncSession, sale_ids: Collection[str], now: dt.datetime) -> None:
    """Bring the entries of ``sale_ids`` in line with the sales as they now stand, in
    ``session``'s transaction: a sold sale owes its price to the marketplace and earns its
    supplier its cost; any other sale owes and earns nothing. The first entries of a sale
    are its ``sale`` and ``payout``; a difference later is an ``adjustment``. Returns are
    booked apart and not counted here. Idempotent: booking again writes nothing."""
    if not sale_ids:
        return
    ids = sorted(sale_ids)
    sales = (
        await session.scalars(
            select(Sale).where(Sale.id.in_(ids)).execution_options(populate_existing=True)
        )
    ).all()
    booked: dict[tuple[str | None, str], tuple[int, int]] = {}  # (sale, account) → sum, count
    query = (
        select(
            LedgerEntry.sale_id,
            LedgerEntry.account,
            func.sum(LedgerEntry.amount_cents),
            func.count(),
        )
        .where(LedgerEntry.sale_id.in_(ids), LedgerEntry.kind.in_(_SALE_KINDS))
        .group_by(LedgerEntry.sale_id, LedgerEntry.account)
    )
    for sale_id, account, total, count in await session.execute(query):
        booked[(sale_id, account)] = (int(total), int(count))
    entries: list[LedgerEntry] = []
    for sale in sales:
        sold = sale.status == "sold"
        for first, (account, owed) in zip(first_entries(sale), _owed(sale), strict=True):
            total, count = booked.get((sale.id, account), (0, 0))
            owed = owed if sold else 0
            if owed == total:
                continue
            if count == 0:
                entries.append(first)
            else:
                note = f"{first.kind} of sale {sale.id} rebooked"
                entries.append(
                    new_entry(
                        EntryKind.ADJUSTMENT, account, owed - total, now, sale=sale, note=note
                    )
                )
    await _insert(session, entries)


def _owed(sale: Sale) -> tuple[tuple[str, int], tuple[str, int]]:
    """What a sold sale moves: its price off the buyer's account, its cost to the
    supplier's."""
    return (
        (buyer_account(sale.buyer_id), -sale.revenue_cents),
        (supplier_account(sale.supplier_id), sale.cost_cents),
    )


def first_entries(sale: Sale) -> tuple[LedgerEntry, LedgerEntry]:
    """A sold sale's first entries: its ``sale`` (the buyer pays its price) and ``payout``
    (the supplier earns its cost), dated the sale's ``created_at``."""
    (buyer, price), (supplier, cost) = _owed(sale)
    return (
        new_entry(EntryKind.SALE, buyer, price, sale.created_at, sale=sale),
        new_entry(EntryKind.PAYOUT, supplier, cost, sale.created_at, sale=sale),
    )


async def _insert(session: AsyncSession, entries: Sequence[LedgerEntry]) -> None:
    """Insert at once (a Core statement, like the sales themselves)."""
    if entries:
        await _INSERT_ENTRIES.run(session, [entry_values(entry) for entry in entries])


def entry_values(entry: LedgerEntry) -> dict[str, Any]:
    return {column.key: getattr(entry, column.key) for column in _ENTRY.columns}


#: the kinds :func:`book_sales` keeps in line with a sale (a return is the buyer's claim,
#: booked apart)
_SALE_KINDS = (EntryKind.SALE.value, EntryKind.PAYOUT.value, EntryKind.ADJUSTMENT.value)


class LedgerRepository:
    """Named reads of the ledger, and the one write for operators' entries. Never commits:
    the flow owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, entries: Sequence[LedgerEntry]) -> None:
        """Insert new entries (:func:`new_entry`) in the caller's transaction."""
        await _insert(self._session, entries)

    async def balance(self, account: str, *, until: dt.datetime | None = None) -> int:
        """The account's live balance in cents (entries before ``until`` when given)."""
        query = select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.account == account, LedgerEntry.test.is_(False)
        )
        if until is not None:
            query = query.where(LedgerEntry.at < until.astimezone(dt.UTC))
        return int(await self._session.scalar(query) or 0)

    async def balances(self, prefix: str) -> dict[str, int]:
        """Every live balance of the accounts named ``<prefix>:…`` (``buyer`` or
        ``supplier``), by account."""
        query = (
            select(LedgerEntry.account, func.sum(LedgerEntry.amount_cents))
            .where(LedgerEntry.account.startswith(f"{prefix}:"), LedgerEntry.test.is_(False))
            .group_by(LedgerEntry.account)
        )
        return {account: int(total) for account, total in await self._session.execute(query)}

    async def entries(
        self,
        *,
        account: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        sale_id: str | None = None,
        test: bool = False,
        limit: int | None = None,
    ) -> Sequence[LedgerEntry]:
        """Entries oldest first, filtered as given; ``[start, end)``."""
        query = select(LedgerEntry).where(LedgerEntry.test.is_(test))
        if account is not None:
            query = query.where(LedgerEntry.account == account)
        if start is not None:
            query = query.where(LedgerEntry.at >= start.astimezone(dt.UTC))
        if end is not None:
            query = query.where(LedgerEntry.at < end.astimezone(dt.UTC))
        if sale_id is not None:
            query = query.where(LedgerEntry.sale_id == sale_id)
        query = query.order_by(LedgerEntry.at, LedgerEntry.id)
        if limit is not None:
            query = query.limit(limit)
        return (await self._session.scalars(query)).all()
