"""The delivery log's writer: attempts are queued in memory and inserted in batches by one
background task per process, so an outbound exchange never waits on the database
(DESIGN §8.4). Under an extreme backlog new attempts are dropped and counted, never
allowed to grow memory without bound.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.delivery.attempts import ATTEMPT_CONTEXT, MAX_KEPT_CHARS, Attempt
from pingtree.store.tables import AttemptRow, Base

__all__ = ["BatchedAttemptLog"]

log = logging.getLogger(__name__)


class BatchedAttemptLog:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval: float = 0.05,
        max_batch: int = 500,
        max_pending: int = 20_000,
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._pending: list[Attempt] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: attempts refused because the backlog was full
        self.dropped = 0

    def record(self, attempt: Attempt) -> None:
        if attempt.ping_id is None or attempt.lead_id is None:
            context_ping, context_lead = ATTEMPT_CONTEXT.get()
            ping_id, lead_id = attempt.ping_id or context_ping, attempt.lead_id or context_lead
            if (ping_id, lead_id) != (attempt.ping_id, attempt.lead_id):  # copy only to fill
                attempt = dataclasses.replace(attempt, ping_id=ping_id, lead_id=lead_id)
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("delivery log backlog full: %d attempts dropped", self.dropped)
            return
        self._pending.append(attempt)
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="attempt-log")

    async def stop(self) -> None:
        """Write what is queued, then end the task (never cut off inside a transaction: it
        would keep SQLite's write lock)."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far."""
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                async with self._sessions.begin() as session:
                    # the table, not the entity: a plain executemany, no ORM bulk work
                    await session.execute(
                        insert(Base.metadata.tables[AttemptRow.__tablename__]),
                        [_row(a) for a in batch],
                    )
            except Exception:
                # the log must never take the traffic down with it
                log.exception("could not write %d delivery log attempts", len(batch))

    async def _loop(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            await asyncio.sleep(self._interval)  # let a fan-out's attempts gather
            self._wake.clear()
            await self.flush()


def _row(attempt: Attempt) -> dict[str, object]:
    # by hand: dataclasses.asdict deep-copies every value, a cost paid per buyer per ping
    return {
        "id": attempt.id,
        "kind": attempt.kind,
        "order_id": attempt.order_id,
        "buyer_id": attempt.buyer_id,
        "ping_id": attempt.ping_id,
        "lead_id": attempt.lead_id,
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "outcome": attempt.outcome,
        "method": attempt.method,
        "url": attempt.url,
        "request_headers": _plain(attempt.request_headers),
        "request_body": attempt.request_body[:MAX_KEPT_CHARS],
        "status": attempt.status,
        "response_headers": _plain(attempt.response_headers),
        "response_body": attempt.response_body[:MAX_KEPT_CHARS],
        "parsed": dict(attempt.parsed),
        "error": attempt.error,
    }


def _plain(headers: Mapping[str, str]) -> dict[str, str]:
    # header names arrive as the HTTP client's own str subclass, which JSON encoders refuse
    return {str(name): str(value) for name, value in headers.items()}
