"""A cap ledger on its real store, for the ledger tests (the fixtures in conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.caps import CapLedger, RedisCapLedger, SqlCapLedger, create_redis
from pingtree.store.db import create_engine, session_factory
from tests.support.databases import fresh_database, fresh_redis

#: the three ways to keep caps: SQL on SQLite, SQL on PostgreSQL, Redis + PostgreSQL
LEDGERS = [
    pytest.param("sql-sqlite", id="sql-sqlite"),
    pytest.param("sql-postgres", id="sql-postgres", marks=pytest.mark.postgres),
    pytest.param(
        "redis-postgres", id="redis-postgres", marks=[pytest.mark.postgres, pytest.mark.redis]
    ),
]


@dataclass
class LedgerSetup:
    kind: str
    url: str
    ledger: CapLedger
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None


@asynccontextmanager
async def ledger_setup(kind: str, tmp_path: Path) -> AsyncIterator[LedgerSetup]:
    """A ledger of ``kind`` (see :data:`LEDGERS`) on a fresh, migrated database."""
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
