"""Inserts kept back and sent together: one round trip for a transaction's new rows.

On PostgreSQL every statement of a transaction is a round trip to the server, and its
answer waits for the event loop's turn: a sale's transaction inserts its lead, its sales,
their outbox rows and the consumer's dedup keys, one statement each, and under load each
round trip costs about a millisecond (`bench/README.md`, "Sale").

So on PostgreSQL a :class:`~pingtree.store.prepared.Prepared` insert made deferrable, in a
session's open transaction, is kept in the session (:func:`defer`) and sent with the others
kept since, when the transaction next needs the server: as ``WITH`` clauses of its next
prepared statement when that touches none of their tables (:func:`kept_for`), else as one
statement just before it, before the session's own next statement or ORM flush, before a
savepoint and at commit (:func:`flush`; session events). PostgreSQL's data-modifying
``WITH`` (``WITH w0 AS (INSERT …), w1 AS (INSERT …) SELECT 1``) runs every clause, each
with its rows, and checks constraints between them (a sale's lead) at the statement's end.

A transaction whose kept rows are all it writes, sent at its commit as one statement, sends
it alone, without ``BEGIN`` and ``COMMIT``: the server commits one statement as it runs, all
of it or none, so the transaction is one round trip instead of three (a post's sale, whose
ping it stores claimed: ``flows.sell``).

What changes for the caller: a refused row fails the transaction's next statement or its
commit instead of its own insert, which rolls the whole transaction back all the same.
On SQLite (statements on the connection's own thread, no round trip), with no transaction
open, inside a savepoint, in a transaction of one statement, or for a table with a default
computed in Python, an insert is sent at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CTE, Select, Table, bindparam, event, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import await_only

from pingtree.store.compiled import Compiled
from pingtree.store.drivers import ONE_STATEMENT, Driver, driver_of

__all__ = ["Kept", "defer", "flush", "kept_for"]

#: a table's rows kept back, all with the same columns
_Part = tuple[Table, tuple[str, ...], list[Mapping[str, Any]]]


async def defer(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> bool:
    """Keep ``rows`` of ``table`` to insert with the transaction's next statement (see the
    module); ``False`` where they must be inserted now."""
    defaults = _defaults(table)
    if session.get_bind().dialect.driver != "asyncpg" or defaults is None:
        return False
    if ONE_STATEMENT in session.info or session.in_nested_transaction():
        return False  # a savepoint's rows go at once: it may roll back alone
    driver = await driver_of(session)  # sends what the ORM session holds first
    if driver is None:
        return False
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_KEPT)
    if kept is None or kept[0] is not transaction:
        kept = session.info[_KEPT] = (transaction, driver, [])
    parts: list[_Part] = kept[2]
    for row in rows:
        full = {**defaults, **row}
        columns = tuple(full)
        if parts and parts[-1][0] is table and parts[-1][1] == columns:
            parts[-1][2].append(full)
        else:
            parts.append((table, columns, [full]))
    return True


class Kept:
    """The rows a transaction kept back, taken to go with its next statement, written into
    it as ``WITH`` clauses (:meth:`ctes`) with their parameters (:attr:`params`)."""

    __slots__ = ("_parts", "params", "shape")

    def __init__(self, parts: list[_Part]) -> None:
        self._parts = parts
        #: what the statement's SQL depends on: the tables, their columns, how many rows
        self.shape = tuple((table.name, columns, len(rows)) for table, columns, rows in parts)
        names = (
            _name(p, r, c)
            for p, (_, columns, rows) in enumerate(parts)
            for r in range(len(rows))
            for c in range(len(columns))
        )
        values = (row[c] for _, columns, rows in parts for row in rows for c in columns)
        self.params = dict(zip(names, values, strict=True))

    def ctes(self) -> list[CTE]:
        return [
            insert(table)
            .values(
                [
                    {
                        column: bindparam(_name(p, r, c), type_=table.c[column].type)
                        for c, column in enumerate(columns)
                    }
                    for r in range(len(rows))
                ]
            )
            .cte(f"w{p}")
            for p, (table, columns, rows) in enumerate(self._parts)
        ]


async def kept_for(session: AsyncSession, tables: frozenset[str]) -> Kept | None:
    """The rows ``session``'s open transaction kept back, to go with a statement on
    ``tables`` that touches none of theirs (it could not see them: the clauses of one
    statement share its snapshot); else they are sent first, and ``None``."""
    taken = _take(session)
    if taken is None:
        return None
    driver, parts = taken
    if any(table.name in tables for table, _, _ in parts) or _too_many(parts):
        await _send(driver, parts)
        return None
    return Kept(parts)


async def flush(session: AsyncSession | Session, *, last: bool = False) -> None:
    """Send what ``session``'s open transaction kept back (nothing if nothing); ``last``:
    nothing follows in the transaction (see :func:`_send`)."""
    taken = _take(session)
    if taken is not None:
        await _send(*taken, last=last)


def _take(session: AsyncSession | Session) -> tuple[Driver, list[_Part]] | None:
    kept = session.info.pop(_KEPT, None)
    if kept is None or not kept[2]:
        return None
    transaction, driver, parts = kept
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if transaction is not sync.get_transaction():
        return None  # kept by a transaction that has ended (rolled back): nothing to send
    return driver, parts


async def _send(driver: Driver, parts: list[_Part], *, last: bool = False) -> None:
    """The parts as one statement, or (one table's many rows, or too many values) each
    table's by itself. ``last``: nothing follows in the transaction, so one statement is
    sent as the whole transaction if the transaction has sent nothing yet."""
    one = _as_one(driver, parts)
    if one is not None:
        if not (last and await driver.execute_as_transaction(*one)):
            await driver.execute(*one)
        return
    for table, columns, rows in parts:
        inserts = _one_table(table, columns, driver)
        if len(rows) == 1:
            await driver.execute(*inserts.bind(rows[0]))
        else:
            await driver.execute_many(*inserts.bind_many(rows))


def _as_one(driver: Driver, parts: list[_Part]) -> tuple[str, tuple[Any, ...]] | None:
    """The parts as one statement, its SQL and values; ``None`` if they go as several."""
    if _too_many(parts):
        return None
    if len(parts) == 1:
        table, columns, rows = parts[0]
        return _one_table(table, columns, driver).bind(rows[0]) if len(rows) == 1 else None
    kept = Kept(parts)
    compiled = _TOGETHER.get(kept.shape)
    if compiled is None:
        if len(_TOGETHER) >= _MAX_SHAPES:
            _TOGETHER.clear()
        statement: Select[Any] = select(literal_column("1")).add_cte(*kept.ctes())
        compiled = _TOGETHER[kept.shape] = Compiled(statement, driver.dialect, ())
    return compiled.bind(kept.params)


def _too_many(parts: list[_Part]) -> bool:
    return sum(len(columns) * len(rows) for _, columns, rows in parts) > _MAX_TOGETHER


def _name(part: int, row: int, column: int) -> str:
    return f"w{part}_{row}_{column}"


def _one_table(table: Table, columns: tuple[str, ...], driver: Driver) -> Compiled:
    key = (table.name, columns)
    compiled = _INSERTS.get(key)
    if compiled is None:
        compiled = _INSERTS[key] = Compiled(insert(table), driver.dialect, columns)
    return compiled


def _defaults(table: Table) -> dict[str, Any] | None:
    """The values SQLAlchemy fills in for ``table``'s columns not given, by column;
    ``None`` when one is computed (by a function) rather than a plain value."""
    if table not in _DEFAULTS:
        columns = [c for c in table.columns if c.default is not None]
        scalar = all(c.default is not None and c.default.is_scalar for c in columns)
        _DEFAULTS[table] = (
            {c.key: getattr(c.default, "arg", None) for c in columns} if scalar else None
        )
    return _DEFAULTS[table]


# --- the session's own statements send what was kept first ----------------------------------


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: Any) -> None:
    _flush_now(state.session)


@event.listens_for(Session, "before_flush")
def _before_orm_flush(session: Session, context: Any, instances: Any) -> None:
    _flush_now(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # the last statement, unless the session's flush of what it holds follows
    _flush_now(session, last=not (session.new or session.dirty or session.deleted))


@event.listens_for(Session, "after_transaction_create")
def _before_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        _flush_now(session)


def _flush_now(session: Session, *, last: bool = False) -> None:
    """From the session's synchronous side, which an async session runs in a greenlet:
    ``await_only`` waits for the round trip there, as SQLAlchemy's own driver calls do."""
    if _KEPT in session.info:
        await_only(flush(session, last=last))


#: ``session.info``'s inserts kept back: (its transaction, its driver, the parts)
_KEPT = "pingtree.deferred_inserts"
#: at most this many values go in one statement (PostgreSQL takes 32,767 parameters)
_MAX_TOGETHER = 5_000
#: the statements of several tables' rows, by shape (:attr:`Kept.shape`)
_TOGETHER: dict[tuple[tuple[str, tuple[str, ...], int], ...], Compiled] = {}
_MAX_SHAPES = 512
#: one table's insert, by its columns
_INSERTS: dict[tuple[str, tuple[str, ...]], Compiled] = {}
#: each table's plain-value defaults by column (``None``: one is computed), as first seen
_DEFAULTS: dict[Table, dict[str, Any] | None] = {}
