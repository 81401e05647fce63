"""What the metrics read from the database at scrape time: how far behind the outbox is
(rows by status, the oldest open row) and the rows writers set aside.

Every reading is bounded: it looks at :data:`MAX_COUNTED` rows at most (a backlog past that
is an emergency whatever its exact size), the outbox's through its ``(status, due_at)``
index. It is short because, on SQLite, every transaction holds the write lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import Delivery, SetAside

__all__ = [
    "COUNTED_STATUSES",
    "MAX_COUNTED",
    "OPEN_STATUSES",
    "OutboxDepth",
    "outbox_depth",
    "set_aside_rows",
]

#: rows a worker still has to post: waiting, or being posted right now (tables.Delivery)
OPEN_STATUSES = ("queued", "sending")
#: counted too: ``unknown`` rows wait for an operator's word (the buyer never answered)
COUNTED_STATUSES = (*OPEN_STATUSES, "unknown")
#: the most rows one reading looks at (per outbox status)
MAX_COUNTED = 10_000


@dataclass(frozen=True)
class OutboxDepth:
    #: status → rows (at most :data:`MAX_COUNTED`); every counted status present
    rows: dict[str, int] = field(default_factory=dict)
    #: when the oldest open row (queued or sending) was written; ``None`` when there is none
    oldest_open: dt.datetime | None = None


async def outbox_depth(session: AsyncSession) -> OutboxDepth:
    """The outbox's rows by status and its oldest open row: each status counted apart (so
    the bound applies per status and each count is one index range), all in one statement,
    so that a row moving from one status to the next while it is read (queued, then
    sending) is counted once: PostgreSQL gives each statement its own snapshot."""
    counts = []
    for status in COUNTED_STATUSES:
        some = (
            select(Delivery.created_at)
            .where(Delivery.status == status)
            .limit(MAX_COUNTED)
            .subquery()
        )
        counts.append(select(literal(status), func.count(), func.min(some.c.created_at)))
    rows: dict[str, int] = {}
    oldest: dt.datetime | None = None
    for status, count, first in await session.execute(union_all(*counts)):
        rows[status] = int(count)
        if status in OPEN_STATUSES and first is not None:
            first = _aware(first)
            oldest = first if oldest is None else min(oldest, first)
    return OutboxDepth(rows, oldest)


async def set_aside_rows(session: AsyncSession) -> dict[str, int]:
    """Rows set aside by writer (``ping-writer``, ``attempt-log``), :data:`MAX_COUNTED` at
    most in all; a writer with none is absent."""
    some = select(SetAside.writer).limit(MAX_COUNTED).subquery()
    counted = await session.execute(select(some.c.writer, func.count()).group_by(some.c.writer))
    return {str(writer): int(count) for writer, count in counted.all()}


def _aware(value: dt.datetime | str) -> dt.datetime:
    # an aggregate over a subquery can lose the column's type on SQLite: text comes back
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
