"""Transactions run whole: on SQLite, in one trip to the database's thread.

SQLite has one writer at a time, and every transaction here takes the write lock at its
``BEGIN IMMEDIATE``. Run through the async session, a transaction goes back to the event
loop after each statement and waits its turn behind every other ready task before the
next, holding the lock all along: under load the lock is held for the loop's turns, not
for the SQL (measured: 4–5 ms for six statements whose SQL takes a tenth of that), and
the sales queue behind it.

:meth:`Transactions.run` takes the transaction's work as an async function of a session,
the same code either way:

- on PostgreSQL, it runs in an :class:`AsyncSession` transaction as usual (no lock to
  hold: row locks, and the round trips overlap);
- on SQLite, the process's one connection is checked out of the pool and the work runs on
  that connection's own thread, in one go, on a synchronous :class:`Session` over the same
  SQLite connection, behind a stand-in for the async session whose methods never suspend.
  The work may await only the session (statements, ``get``); anything else it awaits is a
  programming error (:class:`TransactionSuspended`), caught on the first run.
"""

from __future__ import annotations

import contextvars
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import greenlet_spawn

from pingtree.store.db import JSON_CODECS, is_sqlite

__all__ = ["TransactionSuspended", "Transactions", "Work"]

T = TypeVar("T")

Work = Callable[[AsyncSession], Coroutine[Any, Any, T]]


class TransactionSuspended(RuntimeError):
    """A transaction's work awaited something other than its session."""


class Transactions:
    """Runs a transaction's work on ``sessions``' database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        engine = sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("the sessions must be bound to an engine")
        self._engine = engine
        self._in_thread = is_sqlite(engine)
        #: a synchronous engine over the SQLite connection the pool hands out, by the
        #: connection's id (a new one if the pool replaced it)
        self._sync: tuple[int, Engine] | None = None

    async def run(self, work: Work[T]) -> T:
        """``work(session)`` in one transaction, committed when it returns, rolled back when
        it raises (the exception goes on to the caller)."""
        if not self._in_thread:
            async with self._sessions.begin() as session:
                return await work(session)
        # the pool's one connection, ours until it goes back (its reset makes no trip: the
        # transaction has ended on the connection's thread, store.sqlite_driver)
        pooled = await self._engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection  # an aiosqlite.Connection
            # with the caller's context variables, as ``asyncio.to_thread`` would
            run_here = contextvars.copy_context().run
            result: T = await driver._execute(run_here, self._run_here, work, driver._conn)
        finally:
            await greenlet_spawn(pooled.close)
        return result

    def _run_here(self, work: Work[T], dbapi_connection: sqlite3.Connection) -> T:
        """On the connection's thread: the whole transaction.

        It is begun and ended on the driver's connection itself; an ORM session joins it
        only if the work uses the session for more than :class:`Prepared` statements.
        """
        session = _SessionNow(self._sync_engine(dbapi_connection), dbapi_connection)
        dbapi_connection.execute("BEGIN IMMEDIATE")
        try:
            result = _drive(work(cast(AsyncSession, session)))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return result

    def _sync_engine(self, dbapi_connection: sqlite3.Connection) -> Engine:
        """Only ever called with the pool's one connection checked out, so never twice at
        once. Its connections begin nothing: :meth:`_run_here` began the transaction."""
        if self._sync is None or self._sync[0] != id(dbapi_connection):
            engine = create_engine(
                "sqlite://",
                creator=lambda: dbapi_connection,
                poolclass=StaticPool,
                **JSON_CODECS,
            )
            # its first connection sets the dialect up, and ends any transaction open on
            # the connection: done now, before a transaction begins
            engine.connect().close()
            self._sync = (id(dbapi_connection), engine)
        return self._sync[1]


def _drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its end, here (off the event loop: what
    needs the loop fails at once)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    except RuntimeError as error:
        if "no running event loop" not in str(error):
            raise
        raise TransactionSuspended(_SUSPENDED) from error
    coroutine.close()
    raise TransactionSuspended(_SUSPENDED)


_SUSPENDED = "a transaction's work awaited something other than its session"


class _SessionNow:
    """The async session's methods a transaction's work uses, done at once (they never
    suspend) in the transaction :meth:`Transactions._run_here` began on the driver's
    connection: :class:`Prepared` statements go to the driver (``sqlite_driver``), the rest
    to a synchronous ORM session opened on first use over the same connection."""

    def __init__(self, engine: Engine, sqlite_driver: sqlite3.Connection) -> None:
        self._engine = engine
        self._driver = sqlite_driver
        self._session: Session | None = None

    @property
    def _orm(self) -> Session:
        if self._session is None:
            # objects stay readable after commit, as with the async sessions (session_factory)
            self._session = Session(self._engine, expire_on_commit=False)
        return self._session

    def prepared_driver(self) -> sqlite3.Connection:
        """The driver's connection for a :class:`pingtree.store.prepared.Prepared`
        statement, once what the ORM session holds is written (as its autoflush would)."""
        if self._session is not None:
            self._session.flush()
        return self._driver

    def commit(self) -> None:
        if self._session is not None:
            with self._session:  # closed after: its connection goes back to the static pool
                self._session.commit()  # flushes, then commits
        self._driver.commit()  # the session's commit did, unless it never used the connection

    def rollback(self) -> None:
        if self._session is not None:
            with self._session:
                self._session.rollback()
        self._driver.rollback()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._orm.execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self._orm.scalar(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self._orm.scalars(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._orm.get(*args, **kwargs)

    async def flush(self) -> None:
        self._orm.flush()

    def add(self, instance: object) -> None:
        self._orm.add(instance)

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self._engine
