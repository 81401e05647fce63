"""Transactions run whole: on SQLite, in one trip to the database's thread.

SQLite has one writer at a time, and every transaction here takes the write lock at its
``BEGIN IMMEDIATE``. Run through the async session, a transaction goes back to the event
loop after each statement and waits its turn behind every other ready task before the
next, holding the lock all along: under load the lock is held for the loop's turns, not
for the SQL (measured: 4–5 ms for six statements whose SQL takes a tenth of that), and
the sales queue behind it.

:meth:`Transactions.run` takes the transaction's work as an async function of a session,
the same code either way:

- on PostgreSQL, it runs in an :class:`AsyncSession` transaction (no lock to hold: row
  locks, and the round trips overlap), with no task of its own for its end (see
  :func:`_in_session`); a transaction of one statement (:meth:`Transactions.run_one`) is
  that statement alone, which the server commits as it runs, and so is one whose only
  writes are rows kept back (``store.deferred``);
- on SQLite, the work runs on the process's one connection's own thread, in one go,
  behind a stand-in for the async session whose methods never suspend: the transaction is
  begun and ended on the driver itself, by the line it waits in (a savepoint in a group's
  transaction: :class:`~pingtree.store.transaction_line.Line`),
  :class:`~pingtree.store.prepared.Prepared` statements go straight to the driver, and a
  synchronous ORM :class:`Session` over the same connection joins only if the work uses
  the session for anything else. The work may await only the session (statements,
  ``get``); anything else it awaits is a programming error (:class:`TransactionSuspended`),
  caught on the first run. Transactions wait in one line per engine, run back to back on
  the thread and committed in groups.

A transaction may bring another to commit just after it, made from its result
(:class:`After`: the sale's new outbox rows, taken for this process's posts): on SQLite in
a group of the line's own just after the first's, in the same trip to the thread, so that
it does not wait for the event loop and its turn in the line apart.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from pingtree.store.db import JSON_CODECS, is_sqlite
from pingtree.store.drivers import ONE_STATEMENT
from pingtree.store.transaction_line import line_of

__all__ = ["After", "TransactionSuspended", "Transactions", "Work"]

log = logging.getLogger(__name__)

T = TypeVar("T")

Work = Callable[[AsyncSession], Coroutine[Any, Any, T]]


class TransactionSuspended(RuntimeError):
    """A transaction's work awaited something other than its session."""


class After(Protocol):
    """A transaction committed just after another's, by :meth:`Transactions.run`, made from
    the other's result. Its failure is logged, not raised: the other has committed."""

    def work(self, result: Any) -> Work[Any] | None:
        """Its work (one statement, as :meth:`Transactions.run_one`) for the other's
        result; ``None``: no transaction. Called where the other committed (on SQLite, on
        the connection's thread): it may not touch the event loop."""

    def ended(self, outcome: Any) -> None:
        """Told once the other committed, on the event loop, what its work returned:
        ``None`` when it failed or there was none. Told even when the caller of
        :meth:`Transactions.run` was cancelled meanwhile: on SQLite, once the thread ran
        it; on PostgreSQL, at once, ``None`` if its work had not returned (a caller that
        must know runs :meth:`Transactions.run` in a task it shields)."""


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

    async def run(self, work: Work[T], *, after: After | None = None) -> T:
        """``work(session)`` in one transaction, committed when it returns, rolled back when
        it raises (the exception goes on to the caller). ``after``: a transaction of its
        own committed next, if ``work``'s committed."""
        if not self._in_thread:
            result = await _in_session(self._sessions(), work)
            if after is not None:
                await self._commit_after(after, result)
            return result
        then = _AfterInLine(self._work_here, after) if after is not None else None
        return await line_of(self._engine).run(self._work_here, work, then)

    async def run_one(self, work: Work[T]) -> T:
        """``work(session)`` that runs one :class:`Prepared` statement, as a transaction of
        its own. On PostgreSQL the statement is sent alone and the server commits it as it
        runs, durable as with ``BEGIN … COMMIT`` but without their two round trips (a
        second statement is refused: it would commit apart); on SQLite as :meth:`run`."""
        if self._in_thread:
            return await line_of(self._engine).run(self._work_here, work)
        session = self._autocommit()
        session.info[ONE_STATEMENT] = 1
        return await _in_session(session, work)

    async def _commit_after(self, after: After, result: Any) -> None:
        outcome = None
        try:
            then = after.work(result)
            if then is not None:
                outcome = await self.run_one(then)
        except Exception:
            log.exception("the transaction after another's failed")
        finally:  # cancelled meanwhile: with what is known
            after.ended(outcome)

    def _work_here(self, work: Work[T], dbapi_connection: sqlite3.Connection) -> T:
        """On the connection's thread, in the transaction its line began: the work, with
        what an ORM session holds written before it returns; the line commits it, or rolls
        it back when it raises. An ORM session joins only if the work uses the session for
        more than :class:`Prepared` statements."""
        session = _SessionNow(self._sync_engine(dbapi_connection), dbapi_connection)
        try:
            result = _drive(work(cast(AsyncSession, session)))
        except BaseException:
            session.discard()
            raise
        session.finish()
        return result

    def _sync_engine(self, dbapi_connection: sqlite3.Connection) -> Engine:
        """Only ever called with the pool's one connection checked out, so never twice at
        once. Its connections neither begin nor end a transaction: the line does."""
        if self._sync is None or self._sync[0] != id(dbapi_connection):
            engine = create_engine(
                "sqlite://",
                creator=lambda: _EndedByTheLine(dbapi_connection),
                poolclass=StaticPool,
                **JSON_CODECS,
            )
            # its first connection sets the dialect up, and ends any transaction open on
            # the connection: done now, before a transaction begins
            engine.connect().close()
            self._sync = (id(dbapi_connection), engine)
        return self._sync[1]


class _AfterInLine:
    """An :class:`After` as its line's follow-up: its work runs once the group its first
    transaction committed in has."""

    def __init__(
        self, work_here: Callable[[Work[Any], sqlite3.Connection], Any], after: After
    ) -> None:
        self._work_here = work_here
        self._after = after

    def run_here(self, result: Any, dbapi_connection: sqlite3.Connection) -> Any:
        then = self._after.work(result)
        if then is None:
            return None
        return self._work_here(then, dbapi_connection)

    def ended(self, outcome: Any) -> None:
        self._after.ended(outcome)


async def _in_session(session: AsyncSession, work: Work[T]) -> T:
    """``work(session)`` in a transaction on ``session``, then the session closed.

    Not ``async with sessionmaker.begin()``: its end runs in a task of its own, shielded
    from the caller's cancellation, so every transaction would wait twice for the event
    loop's turn (a task started, a task ended), and under load each turn waits behind every
    ready callback (measured at 16 sellers in flight on PostgreSQL: 2 ms a turn, eight
    turns a sale). A caller cancelled here rolls back, or, if the cancel comes during the
    commit, does not know how it ended: a caller that must know runs the transaction in a
    task it shields (as a sale does, ``flows.sell``)."""
    try:
        async with session.begin():
            return await work(session)
    finally:
        await session.close()


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
    suspend) in the transaction the line began on the driver's connection (the work's own
    savepoint of it): :class:`Prepared` statements go to the driver (:meth:`prepared_driver`),
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

    def finish(self) -> None:
        """What the ORM session holds written (its commit ends no transaction here)."""
        if self._session is not None:
            with self._session:  # closed after: its connection goes back to the static pool
                self._session.commit()  # flushes, then "commits"

    def discard(self) -> None:
        if self._session is not None:
            with self._session:
                self._session.rollback()

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


class _EndedByTheLine:
    """The driver's connection as the ORM session sees it: its ``commit`` and ``rollback``
    do nothing, for the transaction it joins is the line's, which ends it for the whole
    group (``COMMIT``) or for one transaction of it (``ROLLBACK TO`` its savepoint)."""

    __slots__ = ("_connection",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        object.__setattr__(self, "_connection", connection)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)
