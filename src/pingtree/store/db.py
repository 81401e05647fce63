"""The database engine: embedded SQLite or shared PostgreSQL, chosen by the URL (DESIGN §4).

SQLite (one machine): WAL, ``synchronous=NORMAL``, a 30 s ``busy_timeout``, foreign keys on,
and every transaction opened with ``BEGIN IMMEDIATE``: the write lock is taken up front, so
two processes doing read-then-write never interleave (DESIGN §8.4). Without it, SQLite
upgrades a read lock to a write lock mid-transaction and read-check-increment races lose.
One connection a process, with one trip to its thread per statement
(``store.sqlite_driver``); the hot transactions run whole on that thread
(``store.transactions``).

PostgreSQL (many workers): asyncpg with a bounded pool per process, sized by the settings so
that all workers together stay under the server's ``max_connections`` (``Settings.pool_sizes``);
a request that gets no connection within ``pool_timeout`` fails fast (the API answers 503)
rather than queueing without end. Correctness under concurrency comes from conditional
updates and row locks, not from the isolation level.

URLs are accepted in their everyday spellings and given the async driver:
``sqlite:///x.db`` → ``sqlite+aiosqlite:///x.db``; ``postgres://`` and ``postgresql://`` →
``postgresql+asyncpg://``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from pingtree.store.sqlite_driver import one_trip_dbapi

__all__ = [
    "JSON_CODECS",
    "async_url",
    "begin_immediately",
    "create_engine",
    "is_sqlite",
    "session_factory",
]

_SQLITE_PRAGMAS = ("synchronous=NORMAL", "busy_timeout=30000")
#: how long connecting waits for the switch of a new database file to WAL
_WAL_WAIT_SECONDS = 30.0


def async_url(url: str) -> str:
    """``url`` with the async driver pingtree uses for its database.

    ``sqlite://…`` gets ``aiosqlite``; ``postgres://…`` and ``postgresql://…`` get
    ``asyncpg``; a URL that already names a driver is returned unchanged.
    Raises ``ValueError`` for any other database.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+asyncpg://{rest}"
    if scheme in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        return url
    raise ValueError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or postgresql://…"
    )


def create_engine(
    url: str,
    *,
    foreign_keys: bool = True,
    pool_size: int = 10,
    max_overflow: int = 20,
    pool_timeout: float = 30.0,
) -> AsyncEngine:
    """An engine for ``url`` (see :func:`async_url`), set up for pingtree's concurrency rules.

    For a SQLite file, its parent directory is created. ``foreign_keys=False`` is only for
    migrations: SQLite's batch mode rebuilds a table by copy-and-rename, which a parent
    table's enforced foreign keys would refuse. ``pool_size``, ``max_overflow`` and
    ``pool_timeout`` (seconds to wait for a free connection, then
    ``sqlalchemy.exc.TimeoutError``) size a PostgreSQL pool. The caller disposes of the
    engine.
    """
    url = async_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # one connection a process: every transaction takes SQLite's write lock (BEGIN
        # IMMEDIATE), so a second connection could only wait for it in SQLite's busy
        # handler, which sleeps (up to 100 ms a turn) instead of queueing; the pool's own
        # queue hands the one connection over in order, at once. A statement is one trip to
        # the connection's thread (store.sqlite_driver), so the lock is held briefly.
        engine = _create_async_engine(
            url,
            module=one_trip_dbapi(),
            connect_args={"timeout": 30},
            pool_size=1,
            max_overflow=0,
            pool_timeout=pool_timeout,
            **JSON_CODECS,
        )
        _configure_sqlite(engine, foreign_keys=foreign_keys)
        return engine
    return _create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=False,
        **JSON_CODECS,
    )


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


#: JSON columns (traces, the delivery log) are written on every ping: orjson, not json
JSON_CODECS: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine`` whose objects stay readable after commit (``expire_on_commit``
    off): a flow commits, then answers from what it wrote."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether ``engine`` is the embedded SQLite database (else PostgreSQL)."""
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    pragmas = (*_SQLITE_PRAGMAS, f"foreign_keys={'ON' if foreign_keys else 'OFF'}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # the driver stops emitting its own (deferred) BEGIN; ours below takes the lock
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            _use_wal(cursor)
            for pragma in pragmas:
                cursor.execute(f"PRAGMA {pragma}")
        finally:
            cursor.close()

    begin_immediately(engine.sync_engine)


def begin_immediately(engine: Engine) -> None:
    """Open every transaction of a SQLite ``engine`` with ``BEGIN IMMEDIATE`` (the write
    lock up front; its connections must have ``isolation_level = None``)."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (a lasting property of the file, so once per database).

    The switch needs the file to itself and SQLite refuses it at once ("database is locked"),
    without its busy handler, when another connection is using a brand-new file: workers
    starting together on a fresh database retry here, briefly and only that first time.
    """
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + _WAL_WAIT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.fetchone()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
