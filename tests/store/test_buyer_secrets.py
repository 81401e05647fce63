"""Buyer credentials: stored encrypted, listed by name only, resolved stored-first."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.buyer_secrets import BuyerSecretRepository, BuyerSecrets
from pingtree.store.secrets import PiiVault
from pingtree.store.tables import BuyerSecret

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
VAULT = PiiVault(b"k" * 32)


async def test_secrets_are_encrypted_at_rest_and_listed_by_name_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await BuyerSecretRepository(session).set("shield_token", "tok-123", VAULT, NOW)
        await BuyerSecretRepository(session).set("acme.key", "k-1", VAULT, NOW)
    later = NOW + dt.timedelta(hours=1)
    async with sessions.begin() as session:
        await BuyerSecretRepository(session).set("shield_token", "tok-456", VAULT, later)
    async with sessions() as session:
        stored = (await session.scalars(select(BuyerSecret.ciphertext))).all()
        listing = await BuyerSecretRepository(session).listing()
        values = await BuyerSecretRepository(session).load(VAULT)
    assert all("tok-" not in text and text.startswith("enc:v1:") for text in stored)
    assert listing == [("acme.key", NOW), ("shield_token", later)]
    assert values == {"acme.key": "k-1", "shield_token": "tok-456"}


@pytest.mark.parametrize(("name", "value"), [("bad name", "x"), ("", "x"), ("ok", "")])
async def test_a_bad_name_or_an_empty_value_is_refused(
    sessions: async_sessionmaker[AsyncSession], name: str, value: str
) -> None:
    async with sessions.begin() as session:
        with pytest.raises(ValueError, match="secret"):
            await BuyerSecretRepository(session).set(name, value, VAULT, NOW)


async def test_stored_secrets_come_first_then_the_environment(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sessions.begin() as session:
        await BuyerSecretRepository(session).set("shield", "stored", VAULT, NOW)
    monkeypatch.setenv("PINGTREE_SECRET_SHIELD", "from-env")
    monkeypatch.setenv("PINGTREE_SECRET_OTHER_ONE", "env-only")
    secrets = BuyerSecrets(sessions, VAULT, refresh_seconds=60)
    await secrets.start()
    try:
        assert secrets.resolve("shield") == "stored"
        assert secrets.resolve("other-one") == "env-only"
        with pytest.raises(KeyError, match="pingtree secret set missing"):
            secrets.resolve("missing")
        with pytest.raises(KeyError, match="reserved"):
            secrets.resolve("key")
    finally:
        await secrets.stop()
