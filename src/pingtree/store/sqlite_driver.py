"""SQLAlchemy's aiosqlite driver with one trip to the database's thread per statement.

aiosqlite runs a SQLite connection on a thread of its own; every call on it is a trip there
and back (a queue put, the thread's wake-up, a ``call_soon_threadsafe`` and a turn of the
event loop). SQLAlchemy's adapter makes four of them per statement: open a cursor, execute,
fetch the rows, close the cursor. Each turn of a busy loop takes a while, and SQLite's write
lock is held across all of them (every transaction here is ``BEGIN IMMEDIATE``), so the
trips, not SQLite, set how long a transaction holds the lock: the sale path measured about
0.7 ms per statement. Here a statement is one trip: a function run on aiosqlite's thread
opens a cursor, executes, fetches every row and closes it.

It relies on aiosqlite's ``Connection._execute`` and ``_conn`` (the version is pinned by the
lock file; every database test runs through it).
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

__all__ = ["one_trip_dbapi"]

#: what one statement brings back: description, rows, rowcount, lastrowid
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On aiosqlite's thread: the whole statement."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters if parameters is not None else ())
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that holds its results in memory; no aiosqlite cursor behind it."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: str, parameters: Any, *, many: bool) -> None:
        connection: Any = self._connection  # an aiosqlite.Connection
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await connection._execute(
                _run, connection._conn, operation, parameters, many
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def nextset(self) -> None:
        return None

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = _OneTripCursor

    def rollback(self) -> None:
        """A rollback with no transaction open is no trip at all: the pool's reset of every
        connection given back (after a transaction run whole on the thread, or a read's
        session that rolled back already) is one a transaction would otherwise pay for."""
        database: sqlite3.Connection | None = self._connection._connection
        if database is not None and not database.in_transaction:
            return
        super().rollback()


class _OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own adapter does
        return _OneTripConnection(self, await_(connection))


def one_trip_dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DB-API module to give ``create_async_engine(..., module=…)`` for SQLite."""
    return _OneTripDbapi(aiosqlite, sqlite3)
