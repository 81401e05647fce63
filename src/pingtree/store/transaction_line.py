"""SQLite's transactions in one line: run back to back on the connection's thread.

:class:`~pingtree.store.transactions.Transactions` hands each SQLite transaction to its
engine's line (:func:`line_of`), which runs it on the thread of the pool's one connection
and gives its caller the result on the event loop (:func:`call_on`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import sqlite3
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

__all__ = ["Line", "call_on", "line_of"]

T = TypeVar("T")


class Line:
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


#: a transaction waiting on a :class:`Line`
_Queued = tuple[
    contextvars.Context, Callable[[Any, sqlite3.Connection], Any], Any, "asyncio.Future[Any]"
]

#: the longest the transactions' line keeps the connection from the pool's other users
_TURN_SECONDS = 0.02

_LINES: weakref.WeakKeyDictionary[Engine, Line] = weakref.WeakKeyDictionary()


def line_of(engine: AsyncEngine) -> Line:
    """The one line of an engine, for every :class:`Transactions` on it."""
    line = _LINES.get(engine.sync_engine)
    if line is None:
        line = _LINES[engine.sync_engine] = Line(engine)
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

    call_on(loop, now)


def call_on(loop: asyncio.AbstractEventLoop, function: Callable[..., None], *args: Any) -> None:
    """``function(*args)`` on ``loop``, from the connection's thread (unless the loop has
    closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(function, *args)
