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
  on that transaction's connection (:mod:`pingtree.store.drivers`), and a deferrable insert
  waits there to go with the transaction's next statement (:mod:`pingtree.store.deferred`);
- anywhere else (a session with no transaction open) the session executes it as usual.

How a statement is compiled and bound is :mod:`pingtree.store.compiled`.

Its rows come back as tuples, their values converted by the result columns' types (as
SQLAlchemy's own results would be); :attr:`Prepared.keys` names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Insert, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.selectable import HasCTE
from sqlalchemy.sql.util import find_tables

from pingtree.store.compiled import Compiled, result_columns
from pingtree.store.deferred import Kept, defer, flush, kept_for
from pingtree.store.drivers import driver_of

__all__ = ["Prepared"]

Params = Mapping[str, Any]


class Prepared:
    """``statement`` (a Core statement on tables, built once at import). ``deferrable``: a
    plain ``insert(table)`` whose rows may wait, on PostgreSQL, to go to the server with the
    transaction's other new rows (:mod:`pingtree.store.deferred`)."""

    __slots__ = ("_compiled", "_deferrable", "_statement", "_tables", "keys")

    def __init__(self, statement: Executable, *, deferrable: bool = False) -> None:
        self._statement = statement
        self._deferrable: Table | None = None
        if deferrable:
            if not isinstance(statement, Insert) or not isinstance(statement.table, Table):
                raise TypeError("only a plain insert into a table may wait")
            self._deferrable = statement.table
        #: the names of the columns of its rows
        self.keys: tuple[str, ...] = tuple(c.key for c in result_columns(statement))
        #: the tables it reads or writes (rows kept back go along only if it touches none)
        tables = find_tables(cast(ClauseElement, statement), include_crud=True)
        self._tables = frozenset(table.name for table in tables)
        #: by dialect, the parameters' names (an insert's SQL names the columns given) and
        #: the shape of the kept rows that go along (``store.deferred``)
        self._compiled: dict[tuple[str, tuple[str, ...], Any], Compiled] = {}

    async def rows(self, session: AsyncSession, params: Params) -> list[tuple[Any, ...]]:
        """The statement's rows, as tuples."""
        driver = await driver_of(session)
        if driver is None:
            return [tuple(row) for row in await session.execute(self._statement, params)]
        compiled, sql, values = await self._bound(session, driver.dialect, params)
        return compiled.convert(await driver.fetch(sql, values))

    async def first(self, session: AsyncSession, params: Params) -> dict[str, Any] | None:
        """The first row by column name, ``None`` if there is none."""
        rows = await self.rows(session, params)
        return dict(zip(self.keys, rows[0], strict=True)) if rows else None

    async def run(self, session: AsyncSession, params: Params | Sequence[Params]) -> None:
        """Execute the statement, once or (a sequence of parameter sets) for each set."""
        if self._deferrable is not None:
            rows = [params] if isinstance(params, Mapping) else params
            if await defer(session, self._deferrable, rows):
                return
        driver = await driver_of(session)
        if driver is None:
            await session.execute(self._statement, params)
        elif isinstance(params, Mapping):
            _, sql, values = await self._bound(session, driver.dialect, params)
            await driver.execute(sql, values)
        elif params:
            await flush(session)
            await driver.execute_many(*self._for(driver.dialect, params[0]).bind_many(params))

    async def _bound(
        self, session: AsyncSession, dialect: Dialect, params: Params
    ) -> tuple[Compiled, str, tuple[Any, ...]]:
        """Compiled for ``params``, its SQL and values: with the rows the transaction kept
        back going along, when they may (``store.deferred``)."""
        kept = await kept_for(session, self._tables)
        compiled = self._for(dialect, params, kept)
        return compiled, *compiled.bind(params if kept is None else {**params, **kept.params})

    def _for(self, dialect: Dialect, params: Params, kept: Kept | None = None) -> Compiled:
        names = tuple(params)
        key = (dialect.name, names, kept.shape if kept is not None else None)
        compiled = self._compiled.get(key)
        if compiled is None:
            statement = self._statement
            if kept is not None:
                statement = cast(Executable, cast(HasCTE, statement).add_cte(*kept.ctes()))
            compiled = self._compiled[key] = Compiled(statement, dialect, names)
        return compiled
