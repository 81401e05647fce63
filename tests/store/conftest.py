"""Store fixtures: a migrated database per test on SQLite and PostgreSQL, and cap ledgers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pingtree.store.db import create_engine, session_factory
from tests.store.ledgers import LEDGERS, LedgerSetup, ledger_setup
from tests.support.databases import DatabaseKind, fresh_database

BOTH_DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BOTH_DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database at the newest migration: SQLite, then PostgreSQL."""
    kind: DatabaseKind = request.param
    return await fresh_database(kind, tmp_path)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture(params=LEDGERS)
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LedgerSetup]:
    """A cap ledger on a fresh store: SQL on SQLite, SQL on PostgreSQL, Redis + PostgreSQL."""
    async with ledger_setup(request.param, tmp_path) as made:
        yield made


@pytest.fixture(params=LEDGERS[:2])
async def sql_setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LedgerSetup]:
    """The SQL ledger on SQLite and on PostgreSQL."""
    async with ledger_setup(request.param, tmp_path) as made:
        yield made


@pytest.fixture(params=LEDGERS[2:])
async def redis_setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LedgerSetup]:
    """The Redis ledger (with PostgreSQL)."""
    async with ledger_setup(request.param, tmp_path) as made:
        yield made
