"""The engine: URL spellings, SQLite's pragmas and write lock, sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pingtree.store.db import async_url, create_engine, is_sqlite, session_factory
from tests.support.databases import fresh_database


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgresql://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert async_url(given) == expected


@pytest.mark.parametrize("url", ["mysql://h/db", "data/x.db", "postgresql+psycopg://h/db"])
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        async_url(url)


async def test_sqlite_file_gets_its_directory_and_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'p.db'}")
    try:
        assert is_sqlite(engine)
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
        assert pragmas == {
            "journal_mode": "wal",
            "synchronous": 1,  # NORMAL
            "busy_timeout": 30000,
            "foreign_keys": 1,
        }
        assert (tmp_path / "deep" / "er" / "p.db").exists()
    finally:
        await engine.dispose()


async def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """A second transaction waits at BEGIN for the first: read-then-write never interleaves."""
    engine = create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    order: list[str] = []
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (0)"))

        async def increment(name: str, hold: float) -> None:
            async with engine.begin() as connection:
                order.append(f"{name} begin")
                value = (await connection.execute(text("SELECT n FROM t"))).scalar_one()
                await asyncio.sleep(hold)
                await connection.execute(text("UPDATE t SET n = :n"), {"n": value + 1})
                order.append(f"{name} end")

        first = asyncio.create_task(increment("a", 0.3))
        await asyncio.sleep(0.05)
        await increment("b", 0)
        await first
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT n FROM t"))).scalar_one() == 2
        assert order == ["a begin", "a end", "b begin", "b end"]
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_engine_is_pooled(tmp_path: Path) -> None:
    engine = create_engine(await fresh_database("postgres", tmp_path))
    try:
        assert not is_sqlite(engine)
        assert engine.dialect.driver == "asyncpg"
        assert engine.pool.size() == 10  # type: ignore[attr-defined]
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_sessions_keep_objects_readable_after_commit(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    assert sessions.kw["expire_on_commit"] is False
