"""The pings' writer: a ping's answer never waits on the database (DESIGN §8.4).

The flow hands the row over and answers; one background task per process inserts what has
queued up in one transaction (group commit: the busier the process, the bigger the batch).
Until then the ping lives here, so everyone who needs it by id sees it: a post first waits
for :meth:`PingWriter.settled`, a repeated ping looks here before the database.

A ping is a price quote, not a lead: one lost to a crash in the milliseconds before its
batch commits costs a quote the seller can no longer post (``ping_unknown``), never a lead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.tables import Base, Ping

__all__ = ["PingWriter"]

log = logging.getLogger(__name__)

_COLUMNS = tuple(Ping.__table__.columns.keys())
#: after a failed write, the wait before the next try (the batch is kept)
_RETRY_SECONDS = 0.5
#: how long the first ping of a batch waits for company: a transaction costs the process
#: about a millisecond of CPU whatever its size, so one per ping would cost more than the ping
_LINGER_SECONDS = 0.01


class PingWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = 1000) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        #: ping id → row values, in arrival order, until committed
        self._pending: dict[str, dict[str, Any]] = {}
        #: ping id → set when its batch committed
        self._written: dict[str, asyncio.Event] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def add(self, ping: Mapping[str, Any]) -> None:
        """Queue a new ping: its ``pings`` columns by name (those not given are NULL)."""
        ping_id: str = ping["id"]
        self._pending[ping_id] = {column: ping.get(column) for column in _COLUMNS}
        self._written[ping_id] = asyncio.Event()
        self._wake.set()

    async def settled(self, ping_id: str) -> None:
        """Return once ``ping_id`` is in the database, if this process is writing it."""
        written = self._written.get(ping_id)
        if written is not None:
            await written.wait()

    async def drained(self) -> None:
        """Return once every ping queued before the call is in the database."""
        for written in list(self._written.values()):
            await written.wait()

    def repeat(self, campaign_id: str, key: str, now: dt.datetime) -> dict[str, Any] | None:
        """The answer of a queued, unexpired ping with this idempotency key, if any."""
        for row in self._pending.values():
            if (
                row["campaign_id"] == campaign_id
                and row["idempotency_key"] == key
                and row["expires_at"] > now
            ):
                return dict(row["answer"])
        return None

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="ping-writer")

    async def stop(self) -> None:
        """Write what is queued, then end the task (never cut off inside a transaction: it
        would keep SQLite's write lock)."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        while self._pending:  # queued while the task was not running
            if not await self._write_batch():
                break

    async def _loop(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            if not self._stopping:
                await asyncio.sleep(_LINGER_SECONDS)
            self._wake.clear()
            while self._pending:
                if not await self._write_batch():
                    if self._stopping:
                        return  # logged; what is left is lost with the process
                    await asyncio.sleep(_RETRY_SECONDS)

    async def _write_batch(self) -> bool:
        ids = list(self._pending)[: self._max_batch]
        rows = [self._pending[ping_id] for ping_id in ids]
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    insert(Base.metadata.tables[Ping.__tablename__]), rows
                )  # no ORM bulk machinery
        except Exception:
            log.exception("could not write %d pings; retrying", len(rows))
            return False
        for ping_id in ids:
            del self._pending[ping_id]
            self._written.pop(ping_id).set()
        return True
