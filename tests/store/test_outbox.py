"""The outbox's verdicts are conditional: the first to record one wins, whoever it is (a
worker that finished the post, a worker taking over an abandoned row, an operator)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.outbox import OutboxRepository
from pingtree.store.tables import Base, Lead, LedgerEntry, Sale
from pingtree.store.traffic import SaleRepository
from tests.store.rows import lead_row, sale_row

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)
LEADS = Base.metadata.tables[Lead.__tablename__]
SALES = Base.metadata.tables[Sale.__tablename__]


async def _sending(sessions: async_sessionmaker[AsyncSession], sale_id: str) -> None:
    async with sessions.begin() as session:
        outbox = OutboxRepository(session)
        await outbox.add([(sale_id, "lead-1", "order-1", "buyer-1", None)], NOW, LEASE)
        assert await outbox.take(sale_id, NOW, NOW + LEASE, own=True) is not None


async def _finish(
    sessions: async_sessionmaker[AsyncSession], sale_id: str, status: str, was: str, **kw: bool
) -> bool:
    async with sessions.begin() as session:
        return await OutboxRepository(session).finish(
            sale_id, status, "", None, NOW + 2 * LEASE, was=was, **kw
        )


async def _status(sessions: async_sessionmaker[AsyncSession], sale_id: str) -> str:
    async with sessions() as session:
        row = await OutboxRepository(session).get(sale_id)
    assert row is not None
    return row.status


async def test_the_first_verdict_stands(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _sending(sessions, "sale-1")
    # the row's lease ran out: a worker takes it over as unknown
    assert await _finish(sessions, "sale-1", "unknown", "sending", abandoned=True)
    # an operator says delivered; a second operator, or a stale worker, comes too late
    assert await _finish(sessions, "sale-1", "delivered", "unknown")
    assert not await _finish(sessions, "sale-1", "rejected", "unknown")
    assert not await _finish(sessions, "sale-1", "unknown", "sending", abandoned=True)
    assert await _status(sessions, "sale-1") == "delivered"


async def test_a_live_lease_is_not_taken_over(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _sending(sessions, "sale-2")
    async with sessions.begin() as session:
        taken_over = await OutboxRepository(session).finish(
            "sale-2", "unknown", "", None, NOW + LEASE / 2, was="sending", abandoned=True
        )
    assert not taken_over
    assert await _finish(sessions, "sale-2", "delivered", "sending")  # its worker's verdict
    assert await _status(sessions, "sale-2") == "delivered"


async def test_an_abandoned_row_is_queued_again_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _sending(sessions, "sale-3")
    later = NOW + 2 * LEASE
    async with sessions.begin() as session:
        assert await OutboxRepository(session).retry_abandoned("sale-3", later)
    async with sessions.begin() as session:
        assert not await OutboxRepository(session).retry_abandoned("sale-3", later)
    assert await _status(sessions, "sale-3") == "queued"


async def test_a_new_sales_rows_are_taken_together_and_only_while_queued(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _sending(sessions, "sale-4")  # taken already: not again
    async with sessions.begin() as session:
        outbox = OutboxRepository(session)
        await outbox.add(
            [(s, "lead-2", "order-1", "buyer-1", None) for s in ("sale-5", "sale-6")], NOW, LEASE
        )
    async with sessions.begin() as session:
        taken = await OutboxRepository(session).take_new(
            ["sale-4", "sale-5", "sale-6"], NOW, NOW + LEASE
        )
    assert sorted((row.sale_id, row.status, row.tries) for row in taken) == [
        ("sale-5", "sending", 1),
        ("sale-6", "sending", 1),
    ]
    assert [await _status(sessions, s) for s in ("sale-4", "sale-5", "sale-6")] == ["sending"] * 3
    # a verdict for a row taken so is recorded as for any other
    assert await _finish(sessions, "sale-5", "delivered", "sending")


async def test_a_verdict_and_its_sales_new_status_are_given_together(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await session.execute(insert(LEADS), lead_row("lead-1"))
        await session.execute(insert(SALES), [sale_row(s, "lead-1") for s in ("s-7", "s-8")])
    for sale_id in ("s-7", "s-8"):
        await _sending(sessions, sale_id)

    async def finish(sale_id: str, status: str, sale_status: str) -> tuple[bool, Sale | None]:
        async with sessions.begin() as session:
            return await OutboxRepository(session).finish_with_sale(
                sale_id, status, "", None, NOW, was="sending", sale_status=sale_status
            )

    finished, sold = await finish("s-7", "delivered", "sold")
    assert finished
    assert sold is not None
    assert (sold.id, sold.status, sold.revenue_cents) == ("s-7", "sold", 1200)
    assert await finish("s-7", "rejected", "rejected") == (False, None)  # the first stands
    async with sessions.begin() as session:  # s-8 is sold meanwhile (an operator)
        assert await SaleRepository(session).set_status("s-8", "sold") is not None
    assert await finish("s-8", "delivered", "sold") == (True, None)  # sold once
    async with sessions() as session:
        sales = {s.id: s.status for s in await SaleRepository(session).for_lead("lead-1")}
        booked = await session.scalars(select(LedgerEntry.sale_id).order_by(LedgerEntry.sale_id))
        entries = list(booked.all())
    assert sales == {"s-7": "sold", "s-8": "sold"}
    assert await _status(sessions, "s-7") == "delivered"
    assert entries == ["s-7", "s-7", "s-8", "s-8"]  # a sale and a payout each, once
