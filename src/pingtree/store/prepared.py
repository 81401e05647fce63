"""Hot statements sent straight to the database's driver, skipping SQLAlchemy's execution.

Executing a Core statement through SQLAlchemy costs tens of microseconds of Python before
the database sees it (the session's and the connection's execution paths, the cache
lookup, the execution context, the result's metadata): measured on a ping's cap hold, 98 %
of its transaction's time on SQLite's connection thread was SQLAlchemy and 2 % SQLite.

A :class:`Prepared` statement is written once in SQLAlchemy's Core, for both engines, and
compiled once per dialect and shape of its parameters. Its parameters are expanded and
converted by the statement's own column types (``construct_expanded_state`` and the types'
bind processors: the very SQL and values SQLAlchemy would send), then:

- on SQLite, in a transaction on the connection's thread
  (:meth:`pingtree.store.transactions.Transactions.run`, whose session lends it the
  driver's connection), it goes to the driver's cursor;
- on PostgreSQL, in a session's open transaction, it goes to SQLAlchemy's asyncpg adapter
  on that transaction's connection (:class:`_AsyncpgDriver`);
- anywhere else (a session with no transaction open) the session executes it as usual.

Its rows come back as tuples, their values converted by the result columns' types (as
SQLAlchemy's own results would be); :attr:`Prepared.keys` names them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import TupleType
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

__all__ = ["ONE_STATEMENT", "Prepared"]

Params = Mapping[str, Any]


class Prepared:
    """``statement`` (a Core statement on tables, built once at import)."""

    __slots__ = ("_compiled", "_statement", "keys")

    def __init__(self, statement: Executable) -> None:
        self._statement = statement
        #: the names of the columns of its rows
        self.keys: tuple[str, ...] = tuple(c.key for c in _result_columns(statement))
        #: by dialect and the parameters' names (an insert's SQL names the columns given)
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    async def rows(self, session: AsyncSession, params: Params) -> list[tuple[Any, ...]]:
        """The statement's rows, as tuples."""
        driver = await _driver_of(session)
        if driver is None:
            return [tuple(row) for row in await session.execute(self._statement, params)]
        compiled = self._for(driver.dialect, params)
        sql, values = compiled.bind(params)
        return compiled.convert(await driver.fetch(sql, values))

    async def first(self, session: AsyncSession, params: Params) -> dict[str, Any] | None:
        """The first row by column name, ``None`` if there is none."""
        rows = await self.rows(session, params)
        return dict(zip(self.keys, rows[0], strict=True)) if rows else None

    async def run(self, session: AsyncSession, params: Params | Sequence[Params]) -> None:
        """Execute the statement, once or (a sequence of parameter sets) for each set."""
        driver = await _driver_of(session)
        if driver is None:
            await session.execute(self._statement, params)
        elif isinstance(params, Mapping):
            sql, values = self._for(driver.dialect, params).bind(params)
            await driver.execute(sql, values)
        elif params:
            compiled = self._for(driver.dialect, params[0])
            bound = [compiled.bind(p) for p in params]
            await driver.execute_many(bound[0][0], [values for _, values in bound])

    def _for(self, dialect: Dialect, params: Params) -> _Compiled:
        key = (dialect.name, tuple(params))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self._statement, dialect, key[1])
        return compiled


async def _driver_of(session: AsyncSession) -> _SqliteDriver | _AsyncpgDriver | None:
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
    transaction = session.get_transaction()
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


def _bind_converter(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How SQLAlchemy converts a value of ``type_`` for ``dialect``'s driver (the type as the
    dialect implements it: SQLite's own datetime format, its JSON serializer)."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result_columns(statement: Executable) -> list[Any]:
    """A select's columns or a ``RETURNING``'s (none for other statements)."""
    return list(getattr(statement, "exported_columns", ()))


class _Compiled:
    """One statement compiled for ``dialect`` with the parameters ``names``.

    Its SQL depends on how many values each expanding parameter (``IN``) has: for each such
    shape, the expanded SQL and where each of its positional values comes from are worked
    out once (``construct_expanded_state`` costs more than SQLite running a small statement).
    """

    __slots__ = ("_compiled", "_converters", "_defaults", "_expanding", "_processors", "_shapes")

    def __init__(self, statement: Executable, dialect: Dialect, names: tuple[str, ...]) -> None:
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        assert isinstance(compiled, SQLCompiler)
        processors: dict[str, Callable[[Any], Any]] = {}
        expanding: list[str] = []
        for name, bind in compiled.binds.items():
            if bind.expanding:
                # the expanded values are sent as they are: refuse a type that converts them
                types = bind.type.types if isinstance(bind.type, TupleType) else [bind.type]
                if any(_bind_converter(t, dialect) is not None for t in types):
                    raise TypeError(f"the expanding parameter {name!r} needs its values converted")
                expanding.append(name)
                continue
            processor = _bind_converter(bind.type, dialect)
            if processor is not None:
                processors[name] = processor
        # the values the statement carries itself (``.values(status="sending")``), and an
        # insert's columns not given that have a default SQLAlchemy would fill in
        defaults: dict[str, Any] = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if name not in names and not bind.expanding and not bind.required
        }
        for column in compiled.insert_prefetch:
            default = column.default
            if default is None or not default.is_scalar:
                raise TypeError(f"the column {column.key!r} needs its default computed")
            defaults[column.key] = getattr(default, "arg", None)
        converters = [
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in _result_columns(statement)
        ]
        self._converters = converters if any(converters) else None
        self._compiled = compiled
        self._processors = processors
        self._defaults = defaults
        self._expanding = tuple(expanding)
        self._shapes: dict[tuple[int, ...], tuple[str, list[_Source]]] = {}

    def bind(self, params: Params) -> tuple[str, tuple[Any, ...]]:
        """The SQL and its positional values for ``params``."""
        if self._defaults:
            params = {**self._defaults, **params}
        flat = {name: _flatten(params[name]) for name in self._expanding}
        shape = tuple(len(values) for values in flat.values())
        known = self._shapes.get(shape)
        if known is None:
            known = self._shapes[shape] = self._expand(params)
        sql, sources = known
        return sql, tuple(
            flat[name][index]
            if index >= 0
            else (processor(params[name]) if processor is not None else params[name])
            for name, index, processor in sources
        )

    def convert(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        """The driver's rows with their values converted by the result columns' types."""
        converters = self._converters
        if converters is None:
            return rows
        return [
            tuple(
                convert(value) if convert is not None and value is not None else value
                for convert, value in zip(converters, row, strict=True)
            )
            for row in rows
        ]

    def _expand(self, params: Params) -> tuple[str, list[_Source]]:
        state = self._compiled.construct_expanded_state(params)
        expanded_from = {
            expanded: (name, index)
            for name, names in state.parameter_expansion.items()
            for index, expanded in enumerate(names)
        }
        sources: list[_Source] = []
        for position in state.positiontup or ():
            name, index = expanded_from.get(position, (position, -1))
            sources.append((name, index, self._processors.get(name)))
        return state.statement, sources


#: a positional value: its parameter's name, its index among the parameter's flattened
#: values (``-1``: the parameter's own value) and the type's converter
_Source = tuple[str, int, "Callable[[Any], Any] | None"]


def _flatten(values: Sequence[Any]) -> list[Any]:
    """An expanding parameter's values as SQLAlchemy expands them (tuples element-wise)."""
    return (
        [v for value in values for v in value]
        if values and isinstance(values[0], tuple)
        else list(values)
    )
