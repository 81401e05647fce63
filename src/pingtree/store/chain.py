"""The chain steps' table: the steps after a sold lead's post (``delivery.chain``), each
taken as an outbox row is (a conditional update: one sender), in order.

Every step of a sale is written in the transaction that records its post's verdict
``sold``: the first ``queued``, the rest ``waiting``. A step's verdict and the next step's
release (``queued``, or ``skipped`` after a success that ends the chain) are one update
each in one transaction, so a crash neither loses a step nor runs one twice but for the
at-least-once of a post cut off mid-send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import Base, ChainStepRow

__all__ = ["ChainRepository", "StepKey"]

_STEP = Base.metadata.tables[ChainStepRow.__tablename__]

#: ``(sale id, position)``
StepKey = tuple[str, int]


class ChainRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        sale_id: str,
        lead_id: str,
        order_id: str,
        buyer_id: str,
        token: str | None,
        names: Sequence[str],
        now: dt.datetime,
        lease: dt.timedelta,
    ) -> None:
        """A sale's chain, one row per step name: the first due now and leased to the
        process that wrote it for ``lease``, the others waiting."""
        if not names:
            return
        await self._session.execute(
            insert(_STEP),
            [
                {
                    "sale_id": sale_id,
                    "position": position,
                    "lead_id": lead_id,
                    "order_id": order_id,
                    "buyer_id": buyer_id,
                    "name": name,
                    "status": "queued" if position == 0 else "waiting",
                    "tries": 0,
                    "due_at": now,
                    "lease_until": now + lease if position == 0 else None,
                    "token": token,
                    "reason": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for position, name in enumerate(names)
            ],
        )

    async def take(
        self, key: StepKey, now: dt.datetime, lease_until: dt.datetime, *, own: bool
    ) -> ChainStepRow | None:
        """Mark a queued step ``sending`` (one more try); ``None`` if another took it or it
        is not queued. ``own``: the caller holds its lease."""
        conditions = [*_is(key), _STEP.c.status == "queued"]
        if not own:
            conditions.append(or_(_STEP.c.lease_until.is_(None), _STEP.c.lease_until <= now))
        result = await self._session.execute(
            update(_STEP)
            .where(*conditions)
            .values(
                status="sending",
                tries=_STEP.c.tries + 1,
                lease_until=lease_until,
                updated_at=now,
            )
            .returning(*_STEP.c)
        )
        taken = result.first()
        return ChainStepRow(**taken._asdict()) if taken is not None else None

    async def retry_later(
        self, key: StepKey, due_at: dt.datetime, lease_until: dt.datetime, reason: str
    ) -> None:
        """Back to ``queued`` until ``due_at``, leased to the caller, who waits for it."""
        await self._session.execute(
            update(_STEP)
            .where(*_is(key), _STEP.c.status == "sending")
            .values(status="queued", due_at=due_at, lease_until=lease_until, reason=reason)
        )

    async def finish(
        self,
        key: StepKey,
        status: str,
        reason: str,
        now: dt.datetime,
        *,
        ends_chain: bool,
        lease: dt.timedelta,
    ) -> StepKey | None:
        """The step's verdict, if it is still ``sending``, and the next step's release:
        ``queued`` (due now, leased to the caller for ``lease``), or with ``ends_chain``
        every later step ``skipped``. The next step's key to send, or ``None`` (no next
        step, the chain ended, or another verdict came first)."""
        result = await self._session.execute(
            update(_STEP)
            .where(*_is(key), _STEP.c.status == "sending")
            .values(status=status, reason=reason, lease_until=None, updated_at=now)
            .returning(_STEP.c.sale_id)
        )
        if result.first() is None:
            return None
        sale_id, position = key
        later = (_STEP.c.sale_id == sale_id, _STEP.c.status == "waiting")
        if ends_chain:
            await self._session.execute(
                update(_STEP)
                .where(*later, _STEP.c.position > position)
                .values(status="skipped", reason="a step before it succeeded", updated_at=now)
            )
            return None
        released = await self._session.execute(
            update(_STEP)
            .where(*later, _STEP.c.position == position + 1)
            .values(status="queued", due_at=now, lease_until=now + lease, updated_at=now)
            .returning(_STEP.c.position)
        )
        return (sale_id, position + 1) if released.first() is not None else None

    async def due(self, now: dt.datetime, limit: int = 100) -> list[tuple[StepKey, str]]:
        """The steps a worker should act on: queued and due with no live lease, or
        ``sending`` with an expired lease (its process died mid-post)."""
        row = _STEP.c
        free = or_(row.lease_until.is_(None), row.lease_until <= now)
        rows = await self._session.execute(
            select(row.sale_id, row.position, row.status)
            .where(
                or_(
                    and_(row.status == "queued", row.due_at <= now, free),
                    and_(row.status == "sending", row.lease_until <= now),
                )
            )
            .order_by(row.due_at)
            .limit(limit)
        )
        return [((sale_id, position), status) for sale_id, position, status in rows]

    async def requeue_abandoned(self, key: StepKey, now: dt.datetime) -> bool:
        """A step left ``sending`` by a dead process, queued again (a chain step is sent
        at least once: it is a notice, not a sale). ``True`` for the one caller."""
        result = await self._session.execute(
            update(_STEP)
            .where(*_is(key), _STEP.c.status == "sending", _STEP.c.lease_until <= now)
            .values(
                status="queued",
                due_at=now,
                lease_until=now,
                reason="worker stopped mid-post",
                updated_at=now,
            )
            .returning(_STEP.c.sale_id)
        )
        return result.first() is not None

    async def for_lead(self, lead_id: str) -> Sequence[ChainStepRow]:
        rows = await self._session.execute(
            select(ChainStepRow)
            .where(ChainStepRow.lead_id == lead_id)
            .order_by(ChainStepRow.sale_id, ChainStepRow.position)
        )
        return rows.scalars().all()


def _is(key: StepKey) -> tuple[ColumnElement[bool], ...]:
    sale_id, position = key
    return (_STEP.c.sale_id == sale_id, _STEP.c.position == position)
