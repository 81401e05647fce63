"""Store fixtures: a migrated database per test on SQLite and PostgreSQL, Redis, ledgers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pingtree.store.caps import CapLedger, RedisCapLedger, SqlCapLedger, create_redis
from pingtree.store.db import create_engine, session_factory
from tests.support.databases import DatabaseKind, fresh_database, fresh_redis

BOTH_DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BOTH_DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
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


@dataclass
class LedgerSetup:
    kind: str
    url: str
    ledger: CapLedger
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None


LEDGERS = [
    pytest.param("sql-sqlite", id="sql-sqlite"),
    pytest.param("sql-postgres", id="sql-postgres", marks=pytest.mark.postgres),
    pytest.param(
        "redis-postgres", id="redis-postgres", marks=[pytest.mark.postgres, pytest.mark.redis]
    ),
]


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


@asynccontextmanager
async def ledger_setup(kind: str, tmp_path: Path) -> AsyncIterator[LedgerSetup]:
    url = await fresh_database("sqlite" if kind == "sql-sqlite" else "postgres", tmp_path)
    redis = create_redis(await fresh_redis()) if kind == "redis-postgres" else None
    engine = create_engine(url)
    sessions = session_factory(engine)
    ledger: CapLedger = SqlCapLedger(sessions) if redis is None else RedisCapLedger(redis, sessions)
    try:
        yield LedgerSetup(kind, url, ledger, sessions, redis)
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()
