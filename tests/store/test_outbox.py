"""The outbox's verdicts are conditional: the first to record one wins, whoever it is (a
worker that finished the post, a worker taking over an abandoned row, an operator)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.outbox import OutboxRepository

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)


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
