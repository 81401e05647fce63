"""Dedup history: per buyer, inbound, windows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.dedup import INBOUND, DedupRepository

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PHONE, EMAIL, OTHER = "a" * 64, "b" * 64, "c" * 64


async def test_seen_within_the_window_per_buyer(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await DedupRepository(session).record(["b1"], [PHONE, EMAIL], "lead-1", NOW - 10 * DAY)
    async with sessions() as session:
        dedup = DedupRepository(session)
        assert await dedup.seen("b1", [PHONE], NOW - 30 * DAY)
        assert await dedup.seen("b1", [OTHER, EMAIL], NOW - 30 * DAY)
        assert await dedup.seen("b1", [PHONE], NOW - 10 * DAY)  # the window's edge counts
        assert not await dedup.seen("b1", [PHONE], NOW - 9 * DAY)  # older than the window
        assert not await dedup.seen("b1", [OTHER], NOW - 30 * DAY)
        assert not await dedup.seen("b2", [PHONE], NOW - 30 * DAY)  # another buyer
        assert not await dedup.seen(INBOUND, [PHONE], NOW - 30 * DAY)
        assert not await dedup.seen("b1", [], NOW - 30 * DAY)


async def test_inbound_history(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        dedup = DedupRepository(session)
        await dedup.record([INBOUND], [PHONE], "lead-1", NOW - 2 * DAY)
        await dedup.record([INBOUND], [], "lead-2", NOW)  # nothing to remember
    async with sessions() as session:
        dedup = DedupRepository(session)
        assert await dedup.seen(INBOUND, [PHONE, EMAIL], NOW - 3 * DAY)
        assert not await dedup.seen(INBOUND, [PHONE], NOW - DAY)
        assert await dedup.last_sold([PHONE]) == {}  # inbound is not a buyer


async def test_last_sold_per_buyer(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        dedup = DedupRepository(session)
        await dedup.record(["b1"], [PHONE], "lead-1", NOW - 20 * DAY)
        await dedup.record(["b1"], [EMAIL, EMAIL], "lead-2", NOW - 5 * DAY)
        await dedup.record(["b2"], [PHONE], "lead-3", NOW - DAY)
        await dedup.record(["b3"], [OTHER], "lead-4", NOW)
    async with sessions() as session:
        dedup = DedupRepository(session)
        assert await dedup.last_sold([PHONE, EMAIL]) == {"b1": NOW - 5 * DAY, "b2": NOW - DAY}
        assert await dedup.last_sold([]) == {}
        assert await dedup.last_sold(["d" * 64]) == {}
