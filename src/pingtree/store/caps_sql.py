"""Cap ledger in the database: committed usage in ``cap_usage``, holds in ``cap_holds``.

The embedded (single machine) ledger, and the database half of the Redis one. See
:mod:`pingtree.store.caps` for the contract.

Serialization. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (the engine's
rule), so a reservation's read-check-write runs alone. On PostgreSQL a reservation locks
its ``cap_usage`` rows (``SELECT … FOR UPDATE``, sorted by scope and window, so two
reservations never wait on each other in a cycle) after making sure they exist; a sale's
conditional ``UPDATE`` takes the same row locks. Either way, a reservation and a commit on
one counter never interleave.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from pingtree.domain.caps import CapCharge, account_scope
from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, CapHold, CapUsage
from pingtree.store.transactions import Transactions

__all__ = [
    "Counter",
    "CounterKey",
    "SqlCapLedger",
    "commit_usage",
    "counters_of",
    "read_used",
]

#: the tables themselves: a Core statement costs less than the ORM's bulk path (a ping's
#: hold and a sale's commit)
_CAPUSAGE = Base.metadata.tables[CapUsage.__tablename__]
_CAPHOLD = Base.metadata.tables[CapHold.__tablename__]

#: the scopes of buyers' accounts (``domain.caps.account_scope``)
ACCOUNT_PREFIX = account_scope("")

#: ``(scope, window_key)``: one counter
CounterKey = tuple[str, str]

#: counters per statement of the read-only queries; each costs 4 bind parameters there,
#: well under the 32,766 of SQLite and PostgreSQL
_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Counter:
    """The charges of one sale on one counter, merged: one amount, the tightest limit."""

    scope: str
    window_key: str
    limit: int
    amount: int
    window_end: dt.datetime | None

    @property
    def key(self) -> CounterKey:
        return (self.scope, self.window_key)


def counters_of(charges: Sequence[CapCharge]) -> list[Counter]:
    """``charges`` by counter, sorted by ``(scope, window_key)`` (the lock order).

    Two caps of one kind and window share their counter (``CapCharge``): the sale adds to
    it once, and it must respect the smaller limit.
    """
    merged: dict[CounterKey, Counter] = {}
    for charge in charges:
        key = (charge.scope, charge.window_key)
        seen = merged.get(key)
        if seen is None:
            merged[key] = Counter(*key, charge.limit, charge.amount, charge.window_end)
        else:
            merged[key] = Counter(
                *key,
                min(seen.limit, charge.limit),
                max(seen.amount, charge.amount),
                seen.window_end,
            )
    return [merged[key] for key in sorted(merged)]


async def commit_usage(session: AsyncSession, counters: Sequence[Counter]) -> bool:
    """Add each counter's amount to its committed usage if ``used + amount <= limit``, in
    ``session``'s open transaction; ``False`` as soon as one does not fit (the caller rolls
    back: earlier counters of this call were already updated).

    Holds are not consulted: the hard limit is on committed usage alone (DESIGN §8.3).
    """
    if not counters:
        return True
    await _ensure_rows(session, [c.key for c in counters])
    for counter in counters:
        added = await session.execute(
            _ADD_USAGE,
            {
                "counter_scope": counter.scope,
                "counter_window": counter.window_key,
                "amount": counter.amount,
                "limit": counter.limit,
            },
        )
        if added.first() is None:
            return False
    return True


async def refund_usage(session: AsyncSession, counters: Sequence[Counter]) -> None:
    """Take each counter's amount off its committed usage (never below zero, except an
    account's, which goes below zero with its balance), in ``session``'s open
    transaction."""
    for counter in counters:
        less = _CAPUSAGE.c.used - counter.amount
        await session.execute(
            update(_CAPUSAGE)
            .where(_CAPUSAGE.c.scope == counter.scope, _CAPUSAGE.c.window_key == counter.window_key)
            .values(
                used=less
                if counter.scope.startswith(ACCOUNT_PREFIX)
                else case((_CAPUSAGE.c.used > counter.amount, less), else_=0)
            )
        )


async def read_used(session: AsyncSession, keys: Sequence[CounterKey]) -> dict[CounterKey, int]:
    """Committed usage of ``keys``; a counter with no row is absent."""
    used: dict[CounterKey, int] = {}
    for chunk in _chunks(keys):
        rows = await session.execute(
            select(_CAPUSAGE.c.scope, _CAPUSAGE.c.window_key, _CAPUSAGE.c.used).where(
                _usage_in(chunk)
            )
        )
        used.update({(scope, window): int(value) for scope, window, value in rows})
    return used


_SWEEP_INTERVAL = dt.timedelta(seconds=1)


class SqlCapLedger:
    """The cap ledger of one database (:class:`pingtree.store.caps.CapLedger`).

    ``sessions`` opens sessions on the database; :meth:`reserve` and :meth:`release` run in
    transactions of their own (on SQLite in one trip to the database's thread: a ping's
    hold is a few statements, and the ping waits for it), :meth:`commit` in the caller's.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._transactions = Transactions(sessions)
        #: when expired holds were last swept: they no longer count, so deleting them is
        #: housekeeping, done at most once a second
        self._swept_at: dt.datetime | None = None

    async def reserve(
        self,
        ping_id: str,
        charges: Sequence[CapCharge],
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> bool:
        counters = counters_of(charges)
        if not counters:
            return True
        sweep = self._swept_at is None or abs(now - self._swept_at) >= _SWEEP_INTERVAL
        try:
            await self._transactions.run(
                lambda session: _hold(session, ping_id, counters, expires_at, now, sweep=sweep)
            )
        except _NoRoom:
            return False
        if sweep:
            self._swept_at = now
        return True

    async def release(self, ping_id: str, now: dt.datetime) -> None:
        await self._transactions.run(lambda session: self.release_in(session, ping_id))

    async def release_in(self, session: AsyncSession, ping_id: str) -> bool:
        await session.execute(delete(_CAPHOLD).where(_CAPHOLD.c.ping_id == ping_id))
        return True

    async def commit(
        self,
        session: AsyncSession,
        sale_id: str,
        ping_id: str | None,
        charges: Sequence[CapCharge],
        now: dt.datetime,
    ) -> bool:
        counters = counters_of(charges)
        if not await commit_usage(session, counters):
            return False
        if ping_id is not None and counters:
            await session.execute(
                delete(_CAPHOLD).where(
                    _CAPHOLD.c.ping_id == ping_id,
                    _CAPHOLD.c.scope.in_(sorted({c.scope for c in counters})),
                )
            )
        return True

    async def after_commit(self, sale_id: str, charges: Sequence[CapCharge]) -> None:
        return None

    async def refund(self, session: AsyncSession, charges: Sequence[CapCharge]) -> None:
        await refund_usage(session, counters_of(charges))

    async def after_refund(self, charges: Sequence[CapCharge]) -> None:
        return None

    async def usage(
        self, scopes_windows: Sequence[CounterKey], now: dt.datetime
    ) -> dict[CounterKey, tuple[int, int]]:
        result = dict.fromkeys(scopes_windows, (0, 0))
        async with self._sessions() as session:
            for chunk in _chunks(list(result)):
                committed = select(
                    _CAPUSAGE.c.scope,
                    _CAPUSAGE.c.window_key,
                    _CAPUSAGE.c.used,
                    literal(0, BigInteger),
                ).where(_usage_in(chunk))
                held = (
                    select(
                        _CAPHOLD.c.scope,
                        _CAPHOLD.c.window_key,
                        literal(0, BigInteger),
                        sql_cast(func.sum(_CAPHOLD.c.amount), BigInteger),
                    )
                    .where(_holds_in(chunk), _CAPHOLD.c.expires_at > now)
                    .group_by(_CAPHOLD.c.scope, _CAPHOLD.c.window_key)
                )
                for scope, window, used, hold in await session.execute(union_all(committed, held)):
                    old_used, old_held = result[(scope, window)]
                    result[(scope, window)] = (old_used + int(used), old_held + int(hold))
        return result


async def _hold(
    session: AsyncSession,
    ping_id: str,
    counters: Sequence[Counter],
    expires_at: dt.datetime,
    now: dt.datetime,
    *,
    sweep: bool,
) -> None:
    """Hold ``counters`` for ``ping_id``; raises :class:`_NoRoom` (to roll back) if one
    does not fit. With ``sweep``, the scopes' expired holds are deleted too."""
    keys = [c.key for c in counters]
    dialect = session.get_bind().dialect.name
    await _ensure_rows(session, keys)
    locked = await _LOCK_USAGE[dialect].rows(session, {"keys": keys})
    used = {(scope, window): int(value) for scope, window, value in locked}
    # this ping's earlier hold on a counter is replaced, not added to
    await _DROP_OWN_HOLDS.run(session, {"ping_id": ping_id, "keys": keys})
    # the scopes' expired holds go while we are here, past windows' too; they no longer
    # count, so rows another transaction is deleting are skipped rather than waited for
    # (waiting could deadlock with a reservation of another window of the same scope)
    if sweep:
        scopes = sorted({c.scope for c in counters})
        await _SWEEP_EXPIRED.run(session, {"scopes": scopes, "now": now})
    held = {
        (scope, window): int(total)
        for scope, window, total in await _HELD.rows(session, {"keys": keys, "now": now})
    }
    for counter in counters:
        if used[counter.key] + held.get(counter.key, 0) + counter.amount > counter.limit:
            raise _NoRoom
    await _INSERT_HOLD.run(
        session,
        [
            {
                "ping_id": ping_id,
                "scope": c.scope,
                "window_key": c.window_key,
                "amount": c.amount,
                "expires_at": expires_at,
            }
            for c in counters
        ],
    )


class _NoRoom(Exception):
    """A counter of a reservation has no room left: roll its transaction back."""


async def _ensure_rows(session: AsyncSession, keys: Sequence[CounterKey]) -> None:
    """Insert a zero ``cap_usage`` row for each key that has none (sorted: lock order)."""
    rows = [{"scope": scope, "window_key": window, "used": 0} for scope, window in keys]
    await _ENSURE_USAGE[session.get_bind().dialect.name].run(session, rows)


def _usage_in(keys: Sequence[CounterKey]) -> ColumnElement[bool]:
    return _USAGE_KEY.in_(keys)


def _holds_in(keys: Sequence[CounterKey]) -> ColumnElement[bool]:
    return _HOLD_KEY.in_(keys)


def _chunks(keys: Sequence[CounterKey]) -> Iterator[Sequence[CounterKey]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


# --- the statements of a reservation and a sale's commit, built once -----------------------
# (executed with their parameters: building a statement costs more than SQLite running it)

_USAGE_KEY = tuple_(_CAPUSAGE.c.scope, _CAPUSAGE.c.window_key)
_HOLD_KEY = tuple_(_CAPHOLD.c.scope, _CAPHOLD.c.window_key)

#: a zero row for each counter that has none (executed with one row per counter)
_ENSURE_USAGE = {
    "postgresql": Prepared(pg_insert(_CAPUSAGE).on_conflict_do_nothing()),
    "sqlite": Prepared(sqlite_insert(_CAPUSAGE).on_conflict_do_nothing()),
}

#: the counters' committed usage, their rows locked in the order of Python's ``sorted``
#: (code points: PostgreSQL's default collation may sort otherwise, and the commit's
#: updates go in Python's order)
_LOCK_USAGE = {
    dialect: Prepared(
        select(_CAPUSAGE.c.scope, _CAPUSAGE.c.window_key, _CAPUSAGE.c.used)
        .where(_USAGE_KEY.in_(bindparam("keys", expanding=True)))
        .order_by(*order)
        .with_for_update()
    )
    for dialect, order in (
        ("postgresql", (_CAPUSAGE.c.scope.collate("C"), _CAPUSAGE.c.window_key.collate("C"))),
        ("sqlite", (_CAPUSAGE.c.scope, _CAPUSAGE.c.window_key)),
    )
}

_DROP_OWN_HOLDS = Prepared(
    delete(_CAPHOLD).where(
        _CAPHOLD.c.ping_id == bindparam("ping_id"),
        _HOLD_KEY.in_(bindparam("keys", expanding=True)),
    )
)

_SWEEP_EXPIRED = Prepared(
    delete(_CAPHOLD).where(
        _CAPHOLD.c.id.in_(
            select(_CAPHOLD.c.id)
            .where(
                _CAPHOLD.c.scope.in_(bindparam("scopes", expanding=True)),
                _CAPHOLD.c.expires_at <= bindparam("now"),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
)

#: the unexpired holds on each counter
_HELD = Prepared(
    select(
        _CAPHOLD.c.scope, _CAPHOLD.c.window_key, sql_cast(func.sum(_CAPHOLD.c.amount), BigInteger)
    )
    .where(
        _HOLD_KEY.in_(bindparam("keys", expanding=True)), _CAPHOLD.c.expires_at > bindparam("now")
    )
    .group_by(_CAPHOLD.c.scope, _CAPHOLD.c.window_key)
)

_INSERT_HOLD = Prepared(insert(_CAPHOLD))

#: a sale's amount added to a counter, if it fits under the limit
_ADD_USAGE = (
    update(_CAPUSAGE)
    .where(
        _CAPUSAGE.c.scope == bindparam("counter_scope"),
        _CAPUSAGE.c.window_key == bindparam("counter_window"),
        _CAPUSAGE.c.used + bindparam("amount", type_=BigInteger) <= bindparam("limit"),
    )
    .values(used=_CAPUSAGE.c.used + bindparam("amount", type_=BigInteger))
    .returning(_CAPUSAGE.c.used)
)
