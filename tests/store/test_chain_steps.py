"""The chain steps' rows (``delivery.chain``): one sender per step, each verdict releases
the next step in its own transaction, a success that ends the chain skips the rest, and a
step left ``sending`` by a dead process is found by a worker and queued again once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.chain import ChainRepository

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=30)
STEPS = ("crm", "mail", "fallback")


async def _statuses(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, int]]:
    async with sessions() as session:
        rows = await ChainRepository(session).for_lead("lead-1")
    return [(row.name, row.status, row.tries) for row in rows]


async def _chain(sessions: async_sessionmaker[AsyncSession], sale_id: str) -> None:
    async with sessions.begin() as session:
        await ChainRepository(session).add(
            sale_id, "lead-1", "order-1", "buyer-1", "tok-9", STEPS, NOW, LEASE
        )


async def test_each_verdict_releases_the_next_step_and_one_sender_takes_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chain(sessions, "sale-1")
    assert await _statuses(sessions) == [
        ("crm", "queued", 0),
        ("mail", "waiting", 0),
        ("fallback", "waiting", 0),
    ]
    async with sessions.begin() as session:
        chain = ChainRepository(session)
        # a worker does not take a step another holds the lease of; its owner does, once
        assert await chain.take(("sale-1", 0), NOW, NOW + LEASE, own=False) is None
        taken = await chain.take(("sale-1", 0), NOW, NOW + LEASE, own=True)
        assert taken is not None
        assert taken.token == "tok-9"
        assert await chain.take(("sale-1", 0), NOW, NOW + LEASE, own=True) is None
        # a waiting step is never taken before its turn
        assert await chain.take(("sale-1", 1), NOW, NOW + LEASE, own=True) is None
        released = await chain.finish(
            ("sale-1", 0), "rejected", "no", NOW, ends_chain=False, lease=LEASE
        )
        assert released == ("sale-1", 1)
        # a second verdict on the same step comes too late
        late = await chain.finish(
            ("sale-1", 0), "delivered", "", NOW, ends_chain=False, lease=LEASE
        )
        assert late is None
        assert await chain.take(("sale-1", 1), NOW, NOW + LEASE, own=True) is not None
        # a success that ends the chain skips what follows
        ended = await chain.finish(
            ("sale-1", 1), "delivered", "", NOW, ends_chain=True, lease=LEASE
        )
        assert ended is None
    assert await _statuses(sessions) == [
        ("crm", "rejected", 1),
        ("mail", "delivered", 1),
        ("fallback", "skipped", 0),
    ]


async def test_a_step_its_process_left_sending_is_found_and_queued_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _chain(sessions, "sale-2")
    async with sessions.begin() as session:
        assert await ChainRepository(session).take(("sale-2", 0), NOW, NOW + LEASE, own=True)
    async with sessions() as session:
        chain = ChainRepository(session)
        assert ("sale-2", 0) not in dict(await chain.due(NOW + LEASE / 2))  # its lease lives
        assert dict(await chain.due(NOW + 2 * LEASE))[("sale-2", 0)] == "sending"
    later = NOW + 2 * LEASE
    async with sessions.begin() as session:
        chain = ChainRepository(session)
        assert await chain.requeue_abandoned(("sale-2", 0), later)
        assert not await chain.requeue_abandoned(("sale-2", 0), later)  # one taker
        again = await chain.take(("sale-2", 0), later, later + LEASE, own=False)
    assert again is not None
    assert again.tries == 2
