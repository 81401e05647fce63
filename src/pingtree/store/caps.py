"""Cap ledgers: reservations from won pings and committed usage from sales (DESIGN §8.3).

A counter is ``(scope, window_key)`` of a :class:`pingtree.domain.caps.CapCharge`. Two
numbers per counter:

- **used**, what committed sales added. The hard limit: a sale commits only if
  ``used + amount <= limit`` for every charge, all or nothing, in the same database
  transaction that inserts the sale. The database (``cap_usage``) is the truth.
- **held**, what unexpired holds of won pings reserve. A hold is a self-expiring
  reservation: it counts while ``expires_at > now`` and never after, so a crash leaks
  nothing and no sweeper is needed. Reserving checks ``used + held + amount <= limit``.

Charges of one sale naming the same counter (two caps of one kind and window) count once
against the smaller limit. A ping's new hold on a counter replaces its previous one.

Two implementations, one contract:

- :class:`SqlCapLedger`: holds are ``cap_holds`` rows (one machine, SQLite or PostgreSQL);
- :class:`RedisCapLedger`: holds and a cache of committed usage in Redis, for many workers.

:func:`create_cap_ledger` picks by whether Redis is configured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.domain.caps import CapCharge
from pingtree.store.caps_redis import RedisCapLedger, create_redis
from pingtree.store.caps_sql import SqlCapLedger

__all__ = ["CapLedger", "RedisCapLedger", "SqlCapLedger", "create_cap_ledger", "create_redis"]


class CapLedger(Protocol):
    """Where cap counters live. Every ``now`` and ``expires_at`` is an aware UTC datetime
    from the clock port; amounts and limits are integers (a count, or cents)."""

    async def reserve(
        self,
        ping_id: str,
        charges: Sequence[CapCharge],
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> bool:
        """Hold ``charges`` for ``ping_id`` until ``expires_at`` if, for every charge,
        ``used + unexpired holds + amount <= limit``; else hold nothing and return ``False``.

        Atomic against every other reservation and commit, across workers. No charges:
        ``True``. Calling again for the same ping replaces its holds on those counters.
        """
        ...

    async def release(self, ping_id: str, now: dt.datetime) -> None:
        """Drop every hold of ``ping_id`` (idempotent; an unknown ping is fine)."""
        ...

    async def release_in(self, session: AsyncSession, ping_id: str) -> bool:
        """Drop every hold of ``ping_id`` in ``session``'s open transaction, if this ledger
        keeps holds in the database (``True``); ``False`` if not: the caller calls
        :meth:`release` once its transaction committed."""
        ...

    async def commit(
        self,
        session: AsyncSession,
        sale_id: str,
        ping_id: str | None,
        charges: Sequence[CapCharge],
        now: dt.datetime,
    ) -> bool:
        """Add a sale's ``charges`` to committed usage inside ``session``'s open transaction
        (the one that inserts the sale), each only if ``used + amount <= limit``.

        ``False`` if any does not fit: the caller must roll back (some counters may already
        be updated in the transaction). On ``True``, ``ping_id``'s holds on those scopes go
        away with the transaction's commit. Never commits or rolls back itself. No charges:
        ``True``. Once the caller's commit succeeded, it calls :meth:`after_commit`.
        """
        ...

    async def after_commit(self, sale_id: str, charges: Sequence[CapCharge]) -> None:
        """Tell the ledger the sale committed (the Redis cache adds it, once per
        ``sale_id``, and drops the ping's holds). A no-op for the SQL ledger."""
        ...

    async def refund(self, session: AsyncSession, charges: Sequence[CapCharge]) -> None:
        """Take a reversed sale's ``charges`` (as committed: same windows) off committed
        usage inside ``session``'s open transaction, never below zero. Once the caller's
        commit succeeded, it calls :meth:`after_refund`."""
        ...

    async def after_refund(self, charges: Sequence[CapCharge]) -> None:
        """Tell the ledger a refund committed (the Redis cache forgets those counters, to
        be rebuilt from the database). A no-op for the SQL ledger."""
        ...

    async def usage(
        self, scopes_windows: Sequence[tuple[str, str]], now: dt.datetime
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """``(scope, window_key)`` → ``(committed used, unexpired held)`` for each given
        counter, ``(0, 0)`` when unknown; one round trip in the usual case (the hot path's
        once-a-second cap-room refresh)."""
        ...


def create_cap_ledger(sessions: async_sessionmaker[AsyncSession], redis: Redis | None) -> CapLedger:
    """The Redis ledger when ``redis`` is given (many workers), else the SQL ledger."""
    if redis is not None:
        return RedisCapLedger(redis, sessions)
    return SqlCapLedger(sessions)
