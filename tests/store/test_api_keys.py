"""API keys' use and rotation in the store: the last use written at most once a minute, a
rotated key working until its overlap ends (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.secrets import ApiKeyRepository, parse_token

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
KEY = bytes(range(32))
MINUTE = dt.timedelta(minutes=1)


def _id(token: str) -> str:
    parsed = parse_token(token)
    assert parsed is not None
    return parsed[0]


async def test_a_use_is_written_at_most_once_a_minute(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        key_id = _id(await ApiKeyRepository(session).create("campaign", "c1", "", KEY, NOW))
    for seconds, expected in ((0, 0), (30, 0), (59, 0), (60, 60), (61, 60), (200, 200)):
        async with sessions.begin() as session:
            keys = ApiKeyRepository(session)
            await keys.note_use(key_id, NOW + dt.timedelta(seconds=seconds), MINUTE)
        async with sessions() as session:
            row = await ApiKeyRepository(session).get(key_id)
            assert row is not None
            assert row.last_used_at == NOW + dt.timedelta(seconds=expected), seconds


async def test_a_rotated_key_works_until_its_overlap_ends(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        old = await ApiKeyRepository(session).create("campaign", "c1", "site", KEY, NOW)
    async with sessions.begin() as session:
        rotated = await ApiKeyRepository(session).rotate(_id(old), KEY, NOW, dt.timedelta(hours=2))
        assert rotated is not None
        row, new = rotated
        assert (row.campaign_id, row.label, row.role) == ("c1", "site", "campaign")
    end = NOW + dt.timedelta(hours=2)
    async with sessions.begin() as session:
        keys = ApiKeyRepository(session)
        assert await keys.verify(old, KEY, end - dt.timedelta(seconds=1)) is not None
        assert await keys.verify(old, KEY, end) is None
        assert await keys.verify(new, KEY, end + dt.timedelta(days=400)) is not None
        # rotating again never lengthens the old key's life
        again = await keys.rotate(_id(old), KEY, NOW + MINUTE, dt.timedelta(hours=24))
        assert again is not None
        old_row = await keys.get(_id(old))
        assert old_row is not None
        assert old_row.expires_at == end
        # an expired or revoked key has no successor
        assert await keys.rotate(_id(old), KEY, end, dt.timedelta(hours=1)) is None
        await keys.revoke(_id(new), end)
        assert await keys.rotate(_id(new), KEY, end, dt.timedelta(hours=1)) is None
        assert await keys.rotate("0" * 16, KEY, end, dt.timedelta(hours=1)) is None
