"""Issued invoices and payout statements, their numbers, and which ledger entries are on
them (``flows.invoicing`` owns the transactions).

Numbers come from a row per kind and year (``invoice_counters``) raised by ``UPDATE …
RETURNING`` in the issuing transaction: the row stays locked until that transaction ends
(PostgreSQL's row lock; SQLite's ``BEGIN IMMEDIATE`` write lock), so two issues at once
take the next two numbers, and a transaction rolled back gives its number back: no gaps.
The row of a new year is made beforehand, in a transaction of its own
(:func:`ensure_counter`), so the issuing transaction never races to insert it.

``invoice_entries`` holds each entry on an issued document once (its primary key): an
entry is never on two documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.tables import Invoice, InvoiceCounter, InvoiceEntry, LedgerEntry

__all__ = ["InvoiceRepository", "ensure_counter"]


async def ensure_counter(
    sessions: async_sessionmaker[AsyncSession], prefix: str, year: int
) -> None:
    """Make the counter of ``prefix`` in ``year`` if it does not exist (at 0), in its own
    transaction; another process making it at the same time is fine."""
    async with sessions() as session:
        if await session.get(InvoiceCounter, (prefix, year)) is not None:
            return
    try:
        async with sessions.begin() as session:
            session.add(InvoiceCounter(prefix=prefix, year=year, last=0))
    except IntegrityError:
        pass  # made by another transaction meanwhile


class InvoiceRepository:
    """Named queries of invoices and statements. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def next_number(self, prefix: str, year: int) -> int | None:
        """The next number of ``prefix`` in ``year``, taken (``None`` if its counter was not
        made: :func:`ensure_counter`). Holds the counter's lock until the transaction
        ends."""
        statement = (
            update(InvoiceCounter)
            .where(InvoiceCounter.prefix == prefix, InvoiceCounter.year == year)
            .values(last=InvoiceCounter.last + 1)
            .returning(InvoiceCounter.last)
        )
        taken = (await self._session.execute(statement)).scalar_one_or_none()
        return None if taken is None else int(taken)

    async def uninvoiced(
        self, account: str, kinds: Sequence[str], end: dt.datetime
    ) -> Sequence[LedgerEntry]:
        """The account's live entries of ``kinds`` dated before ``end`` that are on no issued
        document, oldest first."""
        on_one = exists().where(InvoiceEntry.entry_id == LedgerEntry.id)
        query = (
            select(LedgerEntry)
            .where(
                LedgerEntry.account == account,
                LedgerEntry.test.is_(False),
                LedgerEntry.kind.in_(kinds),
                LedgerEntry.at < end.astimezone(dt.UTC),
                ~on_one,
            )
            .order_by(LedgerEntry.at, LedgerEntry.id)
        )
        return (await self._session.scalars(query)).all()

    async def latest(self, party: str) -> Invoice | None:
        """The party's issued document whose period ends last."""
        query = (
            select(Invoice)
            .where(Invoice.party == party)
            .order_by(Invoice.period_end.desc(), Invoice.number.desc())
            .limit(1)
        )
        return (await self._session.scalars(query)).first()

    async def add(self, invoice: Invoice, entry_ids: Sequence[str]) -> None:
        """Store an issued document and mark its entries as on it."""
        self._session.add(invoice)
        for entry_id in entry_ids:
            self._session.add(InvoiceEntry(entry_id=entry_id, invoice_id=invoice.id))
        await self._session.flush()

    async def get(self, number: str) -> Invoice | None:
        return (
            await self._session.scalars(select(Invoice).where(Invoice.number == number))
        ).first()

    async def listing(
        self, *, party: str | None = None, kind: str | None = None, limit: int = 200
    ) -> Sequence[Invoice]:
        """Issued documents, newest first, of one party or kind when given."""
        query = select(Invoice)
        if party is not None:
            query = query.where(Invoice.party == party)
        if kind is not None:
            query = query.where(Invoice.kind == kind)
        query = query.order_by(Invoice.issued_at.desc(), Invoice.number.desc()).limit(limit)
        return (await self._session.scalars(query)).all()
