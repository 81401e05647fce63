"""The verdict that sells a lead's only sale (``store.only_sale``): one statement on
PostgreSQL (a transaction of one, ``Transactions.run_one``, which refuses a second), the
same writes on SQLite, each conditional on the one before."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.only_sale import OnlySaleSold, sell_only_sale
from pingtree.store.outbox import OutboxRepository
from pingtree.store.tables import Base, Delivery, Lead, LedgerEntry, Sale
from pingtree.store.traffic import LeadAnswer
from pingtree.store.transactions import Transactions
from tests.store.rows import NOW, lead_row, sale_row

LEASE = dt.timedelta(seconds=30)
LEADS = Base.metadata.tables[Lead.__tablename__]
SALES = Base.metadata.tables[Sale.__tablename__]
LATER = NOW + dt.timedelta(seconds=1)
ANSWER = {"status": "sold", "lead_id": "lead-1", "price": "8.00"}


async def _one_sale_sending(sessions: async_sessionmaker[AsyncSession]) -> Sale:
    """A pending lead with one pending sale whose post is being sent; the sale as its
    transaction wrote it."""
    row = sale_row("sale-1", "lead-1")
    async with sessions.begin() as session:
        await session.execute(insert(LEADS), lead_row("lead-1"))
        await session.execute(insert(SALES), row)
        outbox = OutboxRepository(session)
        await outbox.add([("sale-1", "lead-1", "o", "b", None)], NOW, LEASE)
        assert await outbox.take("sale-1", NOW, NOW + LEASE, own=True) is not None
    return Sale(**row)


async def _sell(sessions: async_sessionmaker[AsyncSession], sale: Sale) -> OnlySaleSold:
    lead = LeadAnswer("sold", [], 1200, 800, ANSWER)

    async def work(session: AsyncSession) -> OnlySaleSold:
        return await sell_only_sale(
            session, sale, was="sending", reason="", redirect_url="r", lead=lead, now=LATER
        )

    return await Transactions(sessions).run_one(work)


async def _stands(sessions: async_sessionmaker[AsyncSession]) -> tuple[object, ...]:
    """The row's status and redirect, the sale's status and money, the entries, the lead."""
    async with sessions() as session:
        row = await session.get(Delivery, "sale-1")
        sale = await session.get(Sale, "sale-1")
        lead = await session.get(Lead, "lead-1")
        entries = await session.execute(
            select(LedgerEntry.kind, LedgerEntry.account, LedgerEntry.amount_cents)
            .where(LedgerEntry.sale_id == "sale-1")
            .order_by(LedgerEntry.kind)
        )
        booked = [tuple(entry) for entry in entries]
    assert row is not None
    assert sale is not None
    assert lead is not None
    return (
        (row.status, row.redirect_url, row.lease_until),
        (sale.status, sale.revenue_cents, sale.cost_cents),
        booked,
        (lead.status, lead.revenue_cents, lead.cost_cents, lead.answer, lead.first_answer),
    )


async def test_the_buyers_accept_delivers_sells_books_and_settles_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sale = await _one_sale_sending(sessions)
    assert await _sell(sessions, sale) == OnlySaleSold(finished=True, settled=True)
    sold = (
        ("delivered", "r", None),
        ("sold", 1200, 800),  # its money untouched: only its status changes
        [("payout", "supplier:s", 800), ("sale", "buyer:b", -1200)],
        ("sold", 1200, 800, ANSWER, ANSWER),
    )
    assert await _stands(sessions) == sold
    # a second verdict (a worker, an operator) comes too late: nothing more is written
    assert await _sell(sessions, sale) == OnlySaleSold(finished=False, settled=False)
    assert await _stands(sessions) == sold


async def test_a_sale_sold_already_is_not_booked_again_and_a_settled_lead_stays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    sale = await _one_sale_sending(sessions)
    earlier = {"status": "rejected", "lead_id": "lead-1"}
    async with sessions.begin() as session:  # both changed meanwhile, out of the usual way
        await session.execute(update(SALES).values(status="sold"))
        await session.execute(update(LEADS).values(status="unsold", answer=earlier))
    assert await _sell(sessions, sale) == OnlySaleSold(finished=True, settled=False)
    row, sold, booked, lead = await _stands(sessions)
    assert (row, sold, booked) == (("delivered", "r", None), ("sold", 1200, 800), [])
    assert lead == ("unsold", 0, 0, earlier, None)
