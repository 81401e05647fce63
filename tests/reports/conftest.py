"""The reports run against the same real server as the API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.db import create_engine, session_factory
from tests.api.conftest import clock, market
from tests.api.market import Market

__all__ = ["clock", "db", "market"]


@pytest.fixture
async def db(market: Market) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the running server's database, for reading and for setting up."""
    engine = create_engine(market.settings.resolved_database_url())
    yield session_factory(engine)
    await engine.dispose()
