"""The record of sign-ins is kept for a while only, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.domain.throttle import SignInOutcome
from pingtree.store.sign_ins import SignInRepository

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


async def test_tries_older_than_the_cutoff_are_forgotten_the_others_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        record = SignInRepository(session).record
        for days_ago, name in ((91, "old"), (90, "edge"), (1, "new")):
            at = NOW - dt.timedelta(days=days_ago)
            await record(name, None, "10.0.0.1", SignInOutcome.WRONG_PASSWORD, at)
    async with sessions.begin() as session:
        gone = await SignInRepository(session).forget_before(NOW - dt.timedelta(days=90))
    async with sessions() as session:
        kept = await SignInRepository(session).recent(10)
    assert gone == 1
    assert sorted(row.username for row in kept) == ["edge", "new"]
