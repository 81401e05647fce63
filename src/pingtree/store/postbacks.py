"""The conversion postbacks' durable rows (``flows.postback``): written in the event's
transaction, taken under a lease by whoever sends them, settled with each try's log.

Never commits: the flow owns the transaction. ``take`` is a conditional update, so two
workers never send the same try; a row whose process died while sending is taken again
once its lease ran out (a tracker gets a postback at least once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import Base, Postback

__all__ = ["PostbackRepository"]

_ROW = Base.metadata.tables[Postback.__tablename__]


class PostbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: Postback) -> bool:
        """Insert ``row`` unless its lead has a postback of the same event (``False``)."""
        exists = await self._session.scalar(
            select(Postback.id).where(Postback.lead_id == row.lead_id, Postback.event == row.event)
        )
        if exists is not None:
            return False
        self._session.add(row)
        await self._session.flush()
        return True

    async def take(
        self, postback_id: str, now: dt.datetime, lease_until: dt.datetime, *, own: bool
    ) -> Postback | None:
        """Mark the row ``sending`` (one more try) for the caller; ``None`` if it is done or
        another holds it. ``own``: the caller wrote it or waited out its backoff, and takes
        it queued whatever its lease."""
        row = _ROW.c
        conditions: list[Any] = [row.id == postback_id]
        if own:
            conditions.append(row.status == "queued")
        else:  # due with no live lease, or left sending by a process whose lease ran out
            free = or_(row.lease_until.is_(None), row.lease_until <= now)
            queued = and_(row.status == "queued", row.due_at <= now)
            conditions += [free, or_(queued, row.status == "sending")]
        result = await self._session.execute(
            update(_ROW)
            .where(*conditions)
            .values(status="sending", tries=row.tries + 1, lease_until=lease_until, updated_at=now)
            .returning(*_ROW.c)
        )
        taken = result.first()
        return Postback(**taken._asdict()) if taken is not None else None

    async def settle(
        self,
        postback_id: str,
        *,
        status: str,
        attempts: list[dict[str, Any]],
        due_at: dt.datetime,
        now: dt.datetime,
    ) -> None:
        """After a try: ``sent``, ``failed``, or ``queued`` again for ``due_at``."""
        await self._session.execute(
            update(_ROW)
            .where(_ROW.c.id == postback_id)
            .values(
                status=status,
                attempts=attempts,
                due_at=due_at,
                lease_until=None,
                updated_at=now,
            )
        )

    async def due(self, now: dt.datetime, limit: int = 100) -> list[str]:
        """Rows a worker should send: queued and due with no live lease, or left
        ``sending`` by a process whose lease ran out."""
        free = or_(Postback.lease_until.is_(None), Postback.lease_until <= now)
        rows = await self._session.scalars(
            select(Postback.id)
            .where(
                or_(
                    and_(Postback.status == "queued", Postback.due_at <= now, free),
                    and_(Postback.status == "sending", Postback.lease_until <= now),
                )
            )
            .order_by(Postback.due_at)
            .limit(limit)
        )
        return list(rows)

    async def for_lead(self, lead_id: str) -> Sequence[Postback]:
        """The lead's postbacks, oldest first."""
        rows = await self._session.scalars(
            select(Postback)
            .where(Postback.lead_id == lead_id)
            .order_by(Postback.created_at, Postback.id)
        )
        return rows.all()
