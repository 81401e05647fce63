"""How far behind the outbox is, for the metrics: rows by status and the oldest open row.

Read at scrape time, so the query is bounded: it looks at :data:`MAX_COUNTED` rows at most
(a backlog past that is an emergency whatever its exact size) through the
``(status, due_at)`` index, and never locks anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import Delivery

__all__ = ["COUNTED_STATUSES", "MAX_COUNTED", "OPEN_STATUSES", "OutboxDepth", "outbox_depth"]

#: rows a worker still has to post: waiting, or being posted right now (tables.Delivery)
OPEN_STATUSES = ("queued", "sending")
#: counted too: ``unknown`` rows wait for an operator's word (the buyer never answered)
COUNTED_STATUSES = (*OPEN_STATUSES, "unknown")
#: the most rows one reading looks at, per status: a backlog past it is an emergency whatever
#: its exact size, and on SQLite the reading holds the write lock while it counts
MAX_COUNTED = 10_000


@dataclass(frozen=True)
class OutboxDepth:
    #: status → rows (at most :data:`MAX_COUNTED`); every counted status present
    rows: dict[str, int] = field(default_factory=dict)
    #: when the oldest open row (queued or sending) was written; ``None`` when there is none
    oldest_open: dt.datetime | None = None


async def outbox_depth(session: AsyncSession) -> OutboxDepth:
    """The outbox's rows by status and its oldest open row (each status read apart, so the
    bound applies per status and each read is one index range)."""
    rows: dict[str, int] = {}
    oldest: dt.datetime | None = None
    for status in COUNTED_STATUSES:
        some = (
            select(Delivery.created_at)
            .where(Delivery.status == status)
            .limit(MAX_COUNTED)
            .subquery()
        )
        count, first = (
            await session.execute(select(func.count(), func.min(some.c.created_at)))
        ).one()
        rows[status] = int(count)
        if status in OPEN_STATUSES and first is not None:
            first = _aware(first)
            oldest = first if oldest is None else min(oldest, first)
    return OutboxDepth(rows, oldest)


def _aware(value: dt.datetime | str) -> dt.datetime:
    # an aggregate over a subquery can lose the column's type on SQLite: text comes back
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
