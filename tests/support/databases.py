"""Real databases for tests: a migrated SQLite file, the PostgreSQL ``test`` database, Redis.

Plain functions, for any test package's fixtures::

    url = await fresh_database("sqlite", tmp_path)       # or "postgres"
    redis_url = await fresh_redis()                       # a flushed Redis database
    url = await fresh_database(backend_kind(), tmp_path)  # what PINGTREE_DATABASE_URL names

PostgreSQL (``PINGTREE_TEST_POSTGRES_URL``, default the ``test`` database on 127.0.0.1) is
rebuilt once per test session (schema ``public`` dropped, then the real migrations) and its
tables truncated for each test. Redis (``PINGTREE_TEST_REDIS_URL``, default database 15) is
flushed for each test. A service that cannot be reached skips the test, except under
``CI=true``, where it fails it: CI must run them.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal, NoReturn

import pytest
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pingtree.store.caps import create_redis
from pingtree.store.db import async_url, create_engine
from pingtree.store.migrations import migrate
from pingtree.store.tables import Base

__all__ = [
    "DatabaseKind",
    "backend_kind",
    "fresh_database",
    "fresh_redis",
    "postgres_url",
    "redis_url",
    "service_unavailable",
]

DatabaseKind = Literal["sqlite", "postgres"]

_DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
_DEFAULT_REDIS = "redis://127.0.0.1:6379/15"

#: the PostgreSQL schema is rebuilt and migrated once per test session
_postgres_ready = False
#: a migrated SQLite file, copied for each test
_sqlite_template: Path | None = None
#: why PostgreSQL or Redis could not be reached, once known (no retry per test)
_unreachable: dict[str, str] = {}


def backend_kind() -> DatabaseKind:
    """The backend the environment asks for, as ``.ci/run`` sets it: ``"postgres"`` (with
    Redis) when ``PINGTREE_DATABASE_URL`` names PostgreSQL, else ``"sqlite"``."""
    url = os.environ.get("PINGTREE_DATABASE_URL", "")
    return "postgres" if url.startswith(("postgres://", "postgresql")) else "sqlite"


def postgres_url() -> str:
    """The test PostgreSQL database's URL (async driver)."""
    return async_url(os.environ.get("PINGTREE_TEST_POSTGRES_URL", _DEFAULT_POSTGRES))


def redis_url() -> str:
    """The test Redis database's URL."""
    return os.environ.get("PINGTREE_TEST_REDIS_URL", _DEFAULT_REDIS)


def service_unavailable(service: str, reason: str) -> NoReturn:
    """Skip the test for want of ``service``; fail it under ``CI=true``."""
    message = f"{service} is not reachable ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run these tests")
    pytest.skip(message)


async def fresh_database(kind: DatabaseKind, tmp_path: Path) -> str:
    """The URL of an empty database at the newest migration.

    ``"sqlite"``: a new file under ``tmp_path`` (a copy of one migrated once).
    ``"postgres"``: the shared test database, every table emptied (so tests using it must
    not run in parallel).
    """
    if kind == "sqlite":
        path = tmp_path / "pingtree.db"
        shutil.copyfile(await _migrated_sqlite(), path)
        return f"sqlite+aiosqlite:///{path}"
    return await _fresh_postgres()


async def _migrated_sqlite() -> Path:
    """A SQLite file at the newest migration, made once per test session and copied for
    each test (the migrations take a tenth of a second, a copy a millisecond)."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="pingtree-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = folder / "migrated.db"
        await migrate(f"sqlite+aiosqlite:///{template}")  # its engine closed: no WAL left
        _sqlite_template = template
    return _sqlite_template


async def fresh_redis() -> str:
    """The URL of the test Redis database, flushed."""
    if "redis" in _unreachable:
        service_unavailable("Redis", _unreachable["redis"])
    url = redis_url()
    client = create_redis(url, max_connections=2)
    try:
        await client.flushdb()
    except (RedisError, OSError) as error:
        _unreachable["redis"] = f"{url}: {error}"
        service_unavailable("Redis", _unreachable["redis"])
    finally:
        await client.aclose()
    return url


async def _fresh_postgres() -> str:
    global _postgres_ready
    if "postgres" in _unreachable:
        service_unavailable("PostgreSQL", _unreachable["postgres"])
    url = postgres_url()
    engine = create_engine(url)
    try:
        try:
            connection = await engine.connect()
        except (OSError, DBAPIError) as error:  # refused, no such database, auth…
            _unreachable["postgres"] = f"{url}: {str(error).splitlines()[0]}"
            service_unavailable("PostgreSQL", _unreachable["postgres"])
        try:
            for attempt in range(1, 6):
                try:
                    async with connection.begin():
                        for statement in _wipe_sql(fresh=not _postgres_ready):
                            await connection.execute(text(statement))
                    break
                except DBAPIError as error:
                    # a previous test's server may still be finishing a transaction: its
                    # locks and TRUNCATE's can deadlock, and PostgreSQL aborts us. Again.
                    if "deadlock" not in str(error) or attempt == 5:
                        raise
                    await asyncio.sleep(0.2 * attempt)
        finally:
            await connection.close()
    finally:
        await engine.dispose()
    if not _postgres_ready:
        await migrate(url)
        _postgres_ready = True
    return url


def _wipe_sql(*, fresh: bool) -> list[str]:
    if fresh:
        return ["DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public"]
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    return [f"TRUNCATE {tables} RESTART IDENTITY CASCADE"]
