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
  hold: row locks, and the round trips overlap); a transaction of one statement
  (:meth:`Transactions.run_one`) is that statement alone, which the server commits as it
  runs;
- on SQLite, the work runs on the process's one connection's own thread, in one go,
  behind a stand-in for the async session whose methods never suspend: the transaction is
  begun and ended on the driver itself, :class:`~pingtree.store.prepared.Prepared`
  statements go straight to the driver, and a synchronous ORM :class:`Session` over the
  same connection joins only if the work uses the session for anything else. The work may
  await only the session (statements, ``get``); anything else it awaits is a programming
  error (:class:`TransactionSuspended`), caught on the first run. Transactions wait in one
  line per engine (:class:`_Line`), run back to back on the thread.

A transaction may bring another to commit just before its own (:class:`Before`: a post's
ping, taken from the pings' writer): on SQLite in the same trip to the thread, so that the
second does not wait for the event loop in between.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import sqlite3
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import greenlet_spawn

from pingtree.store.db import JSON_CODECS, is_sqlite
from pingtree.store.drivers import ONE_STATEMENT

__all__ = ["Before", "BeforeFailed", "TransactionSuspended", "Transactions", "Work"]

T = TypeVar("T")

Work = Callable[[AsyncSession], Coroutine[Any, Any, T]]


class TransactionSuspended(RuntimeError):
    """A transaction's work awaited something other than its session."""


class BeforeFailed(Exception):
    """The transaction to commit first (:class:`Before`) failed: the one after it did not
    run. Its error is the cause."""


class Before(Protocol):
    """A transaction committed just before another's, by :meth:`Transactions.run`."""

    async def work(self, session: AsyncSession) -> None:
        """Its work (as a :data:`Work`): one statement (:meth:`Transactions.run_one`)."""

    def ended(self, committed: bool) -> None:
        """Told once, on the event loop, whether it committed, even when the caller of
        :meth:`Transactions.run` was cancelled meanwhile."""


class Transactions:
    """Runs a transaction's work on ``sessions``' database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        engine = sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("the sessions must be bound to an engine")
        self._engine = engine
        self._in_thread = is_sqlite(engine)
        #: sessions whose statements PostgreSQL commits as each runs (:meth:`run_one`)
        self._autocommit = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"),
            class_=sessions.class_,
            **{name: value for name, value in sessions.kw.items() if name != "bind"},
        )
        #: a synchronous engine over the SQLite connection the pool hands out, by the
        #: connection's id (a new one if the pool replaced it)
        self._sync: tuple[int, Engine] | None = None

    @property
    def before_in_same_trip(self) -> bool:
        """Whether a transaction committed ``before`` another (:meth:`run`) goes in the
        same trip to the database: on SQLite's thread, yes; on PostgreSQL it is a
        statement and a commit of its own (measured on a post's ping: fewer sales a second
        at 16 sellers in flight than the ping's place in the pings' writer's batch)."""
        return self._in_thread

    async def run(self, work: Work[T], *, before: Before | None = None) -> T:
        """``work(session)`` in one transaction, committed when it returns, rolled back when
        it raises (the exception goes on to the caller). ``before``: a transaction of its
        own committed first; when it fails, :class:`BeforeFailed` is raised and ``work``
        is not run."""
        if not self._in_thread:
            if before is not None:
                # to its end even if the caller is cancelled, so that it is told whether
                # it committed (as on SQLite's thread)
                await asyncio.shield(self._commit_before(before))
            async with self._sessions.begin() as session:
                return await work(session)
        run_here = self._run_here
        if before is not None:
            loop = asyncio.get_running_loop()
            run_here = functools.partial(self._run_here, before=(before, loop))
        return await _line_of(self._engine).run(run_here, work)

    async def run_one(self, work: Work[T]) -> T:
        """``work(session)`` that runs one :class:`Prepared` statement, as a transaction of
        its own. On PostgreSQL the statement is sent alone and the server commits it as it
        runs, durable as with ``BEGIN … COMMIT`` but without their two round trips (a
        second statement is refused: it would commit apart); on SQLite as :meth:`run`."""
        if self._in_thread:
            return await _line_of(self._engine).run(self._run_here, work)
        async with self._autocommit.begin() as session:
            session.info[ONE_STATEMENT] = 1
            return await work(session)

    async def _commit_before(self, before: Before) -> None:
        try:
            await self.run_one(before.work)
        except Exception as error:
            before.ended(False)
            raise BeforeFailed(str(error)) from error
        before.ended(True)

    def _run_here(
        self,
        work: Work[T],
        dbapi_connection: sqlite3.Connection,
        before: tuple[Before, asyncio.AbstractEventLoop] | None = None,
    ) -> T:
        """On the connection's thread: the whole transaction (``before``'s first, if
        given, told on its loop whether it committed)."""
        if before is not None:
            first, loop = before
            try:
                self._transaction_here(first.work, dbapi_connection)
            except Exception as error:
                _call_on(loop, first.ended, False)
                raise BeforeFailed(str(error)) from error
            _call_on(loop, first.ended, True)
        return self._transaction_here(work, dbapi_connection)

    def _transaction_here(self, work: Work[T], dbapi_connection: sqlite3.Connection) -> T:
        """One transaction, begun and ended on the driver's connection itself; an ORM
        session joins it only if the work uses the session for more than
        :class:`Prepared` statements."""
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
        once. Its connections begin nothing: :meth:`_transaction_here` began the transaction."""
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


class _Line:
    """The transactions waiting for one SQLite engine, run one after another on its
    connection's thread.

    Checked out of the pool for each transaction, the one connection went back to the pool
    and on to the next caller through the event loop: a checkin, a waiter woken, its
    checkout, its trip to the thread, each a turn of a loop busy with traffic. Under load
    that, not SQLite, set how long the connection was held (measured at 16 sellers in
    flight: a transaction ran for 0.2-1 ms and waited 6 ms at the median, 20 ms at p90, for
    the connection). Here the connection is checked out once for all the transactions
    waiting: the thread runs them back to back, taking the ones queued meanwhile too, for
    up to :data:`_TURN_SECONDS`, then gives the connection back so that the pool's other
    users (sessions reading) get their turn. Each transaction is still its own ``BEGIN
    IMMEDIATE … COMMIT``, with its caller's context variables.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        #: (the caller's context, the work, its runner, the caller's future), oldest first;
        #: appended on the loop, taken on the connection's thread (deque: both are atomic)
        self._waiting: collections.deque[_Queued] = collections.deque()
        #: a transaction runs or the line's task takes turns: newcomers queue
        self._busy = False
        self._turns: asyncio.Task[None] | None = None

    async def run(self, run_here: Callable[[Any, sqlite3.Connection], T], work: Any) -> T:
        if not self._busy:  # no one in line: straight to the thread, as a line of one
            self._busy = True
            try:
                return await self._run_alone(run_here, work)
            finally:
                self._busy = False
                self._next_turns()
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((contextvars.copy_context(), run_here, work, done))
        # once queued, the work runs to its end even if its caller is cancelled, as a
        # statement sent to a database would
        return await done

    async def _run_alone(self, run_here: Callable[[Any, sqlite3.Connection], T], work: Any) -> T:
        # with the caller's context variables, as ``asyncio.to_thread`` would
        run_in_context = contextvars.copy_context().run
        result: T = await self._on_thread(
            lambda connection: run_in_context(run_here, work, connection)
        )
        return result

    async def _on_thread(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """``function(driver connection)`` on the connection's thread, with the pool's one
        connection ours until it goes back (its reset makes no trip: the transactions have
        ended on the connection's thread)."""
        pooled = await self._engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection  # an aiosqlite.Connection
            result: T = await driver._execute(function, driver._conn)
        finally:
            await greenlet_spawn(pooled.close)
        return result

    def _next_turns(self) -> None:
        """Whoever queued behind the line of one is taken by the line's task."""
        if self._waiting and not self._busy:
            self._busy = True
            self._turns = asyncio.create_task(self._take_turns(), name="sqlite transactions")

    async def _take_turns(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            while self._waiting:
                await self._on_thread(lambda connection: self._run_waiting(connection, loop))
        except BaseException as error:  # no connection in time: the waiting callers fail
            while self._waiting:
                _, _, _, done = self._waiting.popleft()
                if not done.done():
                    done.set_exception(error)
            if not isinstance(error, Exception):
                raise
        finally:
            self._busy = False
            self._turns = None
            self._next_turns()  # queued after the loop above looked (none: it awaits nothing)

    def _run_waiting(
        self, dbapi_connection: sqlite3.Connection, loop: asyncio.AbstractEventLoop
    ) -> None:
        """On the connection's thread: the waiting transactions, one after another."""
        ends = time.monotonic() + _TURN_SECONDS
        while time.monotonic() < ends:
            try:
                context, run_here, work, done = self._waiting.popleft()
            except IndexError:
                return
            try:
                result = context.run(run_here, work, dbapi_connection)
            except BaseException as error:  # the caller's, to raise
                _answer(loop, done.set_exception, done, error)
            else:
                _answer(loop, done.set_result, done, result)


#: a transaction waiting on a :class:`_Line`
_Queued = tuple[
    contextvars.Context, Callable[[Any, sqlite3.Connection], Any], Any, "asyncio.Future[Any]"
]

#: the longest the transactions' line keeps the connection from the pool's other users
_TURN_SECONDS = 0.02

_LINES: weakref.WeakKeyDictionary[Engine, _Line] = weakref.WeakKeyDictionary()


def _line_of(engine: AsyncEngine) -> _Line:
    """The one line of an engine, for every :class:`Transactions` on it."""
    line = _LINES.get(engine.sync_engine)
    if line is None:
        line = _LINES[engine.sync_engine] = _Line(engine)
    return line


def _answer(
    loop: asyncio.AbstractEventLoop,
    give: Callable[[Any], None],
    done: asyncio.Future[Any],
    value: Any,
) -> None:
    """Give a waiting caller its answer from the connection's thread (unless the loop has
    closed: no one waits any more)."""

    def now() -> None:
        if not done.done():
            give(value)

    _call_on(loop, now)


def _call_on(loop: asyncio.AbstractEventLoop, function: Callable[..., None], *args: Any) -> None:
    """``function(*args)`` on ``loop``, from the connection's thread (unless the loop has
    closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(function, *args)


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
    suspend) in the transaction :meth:`Transactions._transaction_here` began on the driver's
    connection: :class:`Prepared` statements go to the driver (:meth:`prepared_driver`),
    the rest to a synchronous ORM session opened on first use over the same connection."""

    def __init__(self, engine: Engine, sqlite_driver: sqlite3.Connection) -> None:
        self._engine = engine
        self._driver = sqlite_driver
        self._session: Session | None = None
        #: as the async session's (nothing here keeps anything in it on SQLite)
        self.info: dict[str, Any] = {}

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
