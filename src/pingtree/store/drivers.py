"""Where a :class:`~pingtree.store.prepared.Prepared` statement is sent: SQLite's driver,
when its session runs a transaction on the connection's thread, or SQLAlchemy's asyncpg
adapter, when its session has a transaction open on PostgreSQL (else nowhere: the session
executes the statement as usual)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["ONE_STATEMENT", "Driver", "driver_of"]


async def driver_of(session: AsyncSession) -> Driver | None:
    """Where ``session``'s prepared statements go: SQLite's driver, when the session runs a
    transaction on the connection's thread; SQLAlchemy's asyncpg adapter, when it has a
    transaction open on PostgreSQL; else ``None`` (the session executes them)."""
    lend: Callable[[], sqlite3.Connection] | None = getattr(session, "prepared_driver", None)
    if lend is not None:
        return _SqliteDriver(lend(), session.get_bind().dialect)
    return await _asyncpg_driver(session)


class _SqliteDriver:
    """SQLite's driver connection, in a transaction on its own thread."""

    __slots__ = ("_connection", "dialect")

    def __init__(self, connection: sqlite3.Connection, dialect: Dialect) -> None:
        self._connection = connection
        self.dialect = dialect

    async def fetch(self, sql: str, values: Sequence[Any]) -> list[Any]:
        cursor = self._run(sql, values, many=False)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def execute(self, sql: str, values: Sequence[Any]) -> None:
        self._run(sql, values, many=False).close()

    async def execute_many(self, sql: str, values: Sequence[Sequence[Any]]) -> None:
        self._run(sql, values, many=True).close()

    async def execute_as_transaction(self, sql: str, values: Sequence[Any]) -> bool:
        """Never: the transaction was begun on the thread (see the asyncpg driver's)."""
        return False

    def _run(self, sql: str, values: Any, *, many: bool) -> sqlite3.Cursor:
        """The driver's errors are raised as SQLAlchemy would raise them (its
        ``DBAPIError`` subclasses), so callers tell them apart as they always have."""
        try:
            if many:
                return self._connection.executemany(sql, values)
            return self._connection.execute(sql, values)
        except sqlite3.Error as error:
            raise DBAPIError.instance(sql, values, error, sqlite3.Error) from error


class _AsyncpgDriver:
    """A cursor of SQLAlchemy's asyncpg adapter on the connection of a session's open
    transaction: its statements join that transaction (the adapter begins it if no
    statement has yet), use the adapter's cache of prepared statements and its translation
    of asyncpg's errors, and skip the session's and the connection's execution paths.

    It relies on the adapter's ``_prepare_and_execute``, ``_executemany`` and ``_rows``
    (the version is pinned by the lock file; every PostgreSQL test runs through it).
    """

    __slots__ = ("_cursor", "dialect")

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self.dialect = dialect

    async def fetch(self, sql: str, values: Sequence[Any]) -> list[Any]:
        await self._run(self._cursor._prepare_and_execute(sql, values), sql, values)
        return [tuple(row) for row in self._cursor._rows]

    async def execute(self, sql: str, values: Sequence[Any]) -> None:
        await self._run(self._cursor._prepare_and_execute(sql, values), sql, values)

    async def execute_many(self, sql: str, values: Sequence[Sequence[Any]]) -> None:
        await self._run(self._cursor._executemany(sql, values), sql, values)

    async def execute_as_transaction(self, sql: str, values: Sequence[Any]) -> bool:
        """When the transaction has sent nothing yet, the statement sent alone, without
        ``BEGIN``: the server commits it as it runs, and the transaction has nothing left
        to commit (for its last statement only). ``False``, and nothing sent, when the
        transaction has begun."""
        adapter = self._cursor._adapt_connection
        if adapter._transaction is not None:
            return False
        level = adapter.isolation_level
        adapter.isolation_level = "autocommit"  # the adapter then sends no BEGIN
        try:
            await self.execute(sql, values)
        finally:
            adapter.isolation_level = level
        return True

    async def _run(self, statement: Awaitable[Any], sql: str, values: Any) -> None:
        """The adapter's errors are raised as SQLAlchemy's."""
        dbapi = self.dialect.loaded_dbapi
        try:
            await statement
        except dbapi.Error as error:
            raise DBAPIError.instance(sql, values, error, dbapi.Error) from error


async def _asyncpg_driver(session: AsyncSession) -> _AsyncpgDriver | None:
    """The asyncpg adapter of ``session``'s open transaction (``None`` with no transaction
    open, or on another driver); what the ORM session holds is written first, as its
    autoflush would."""
    dialect = session.get_bind().dialect
    if not session.in_transaction() or dialect.driver != "asyncpg":
        return None
    statements_left = session.info.get(ONE_STATEMENT)
    if statements_left is not None:
        if not statements_left:
            raise RuntimeError("a one-statement transaction ran a second statement")
        session.info[ONE_STATEMENT] = statements_left - 1
    if session.new or session.dirty or session.deleted:
        await session.flush()
    # the innermost: a savepoint begun since is emitted by the session's connection()
    transaction = session.get_nested_transaction() or session.get_transaction()
    known = session.info.get(_ASYNCPG_ADAPTER)
    if known is not None and known[0] is transaction:
        adapter: Any = known[1]
    else:  # the connection may differ from one of the session's transactions to the next
        connection = await session.connection()
        adapter = (await connection.get_raw_connection()).dbapi_connection
        session.info[_ASYNCPG_ADAPTER] = (transaction, adapter)
    return _AsyncpgDriver(adapter.cursor(), dialect)


#: ``session.info``'s count of the statements left to a transaction of one statement, whose
#: session commits each as it runs (``Transactions.run_one``)
ONE_STATEMENT = "pingtree.one_statement"

#: where a session keeps its open transaction's asyncpg adapter (``session.info``), with
#: the transaction it is for
_ASYNCPG_ADAPTER = "pingtree.prepared.asyncpg"


Driver = _SqliteDriver | _AsyncpgDriver
