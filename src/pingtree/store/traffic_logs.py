"""What operators read back about the traffic: the delivery log (written by
``store.attempt_log``) and the audit trail of revealed personal data.

They keep the caller's session, offer named queries and never commit: the flow owns the
transaction (STYLE "Storage").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import uuid_utils
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import AttemptRow, PiiReveal

__all__ = ["AttemptRepository", "PiiRevealRepository"]


class AttemptRepository:
    """The delivery log (written by ``store.attempt_log``; read here)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def linked(self, lead_id: str | None, ping_id: str | None) -> Sequence[AttemptRow]:
        """The exchanges made for a lead and/or its ping: the auction's pings, the posts."""
        matches = [
            column == value
            for column, value in ((AttemptRow.lead_id, lead_id), (AttemptRow.ping_id, ping_id))
            if value is not None
        ]
        if not matches:
            return []
        query = (
            select(AttemptRow).where(or_(*matches)).order_by(AttemptRow.started_at, AttemptRow.id)
        )
        return (await self._session.scalars(query)).all()

    async def recent(
        self,
        limit: int,
        *,
        order_id: str | None = None,
        buyer_id: str | None = None,
        outcome: str | None = None,
        kind: str | None = None,
        before: str | None = None,
    ) -> Sequence[AttemptRow]:
        query = select(AttemptRow).order_by(AttemptRow.id.desc()).limit(limit)
        for column, value in (
            (AttemptRow.order_id, order_id),
            (AttemptRow.buyer_id, buyer_id),
            (AttemptRow.outcome, outcome),
            (AttemptRow.kind, kind),
        ):
            if value:
                query = query.where(column == value)
        if before:
            query = query.where(AttemptRow.id < before)
        return (await self._session.scalars(query)).all()


class PiiRevealRepository:
    """The audit trail of revealed personal data."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, lead_id: str, viewer: str, now: dt.datetime) -> None:
        self._session.add(
            PiiReveal(id=str(uuid_utils.uuid7()), lead_id=lead_id, viewer=viewer, revealed_at=now)
        )

    async def recent(
        self, limit: int, *, lead_id: str | None = None, before: str | None = None
    ) -> Sequence[PiiReveal]:
        query = select(PiiReveal).order_by(PiiReveal.id.desc()).limit(limit)
        if lead_id:
            query = query.where(PiiReveal.lead_id == lead_id)
        if before:
            query = query.where(PiiReveal.id < before)
        return (await self._session.scalars(query)).all()
