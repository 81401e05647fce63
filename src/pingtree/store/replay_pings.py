"""The stored pings a replay re-runs (``flows.replay``): live traffic of a period, oldest
first, read in pages so a week of traffic never sits in one result set."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.tables import Base, Ping

__all__ = ["StoredPing", "count_stored_pings", "stored_pings"]

_PING = Base.metadata.tables[Ping.__tablename__]
_PAGE = 2000


@dataclass(frozen=True, slots=True)
class StoredPing:
    """What a replay needs of one ping: its fields (never PII), moment and auction."""

    id: str
    campaign_id: str
    status: str
    reasons: list[Any]
    fields: dict[str, Any]
    auction: dict[str, Any]
    created_at: dt.datetime
    #: whether a post made a lead of it (only those consume cap room in a replay)
    posted: bool


async def stored_pings(
    sessions: async_sessionmaker[AsyncSession],
    since: dt.datetime,
    until: dt.datetime | None = None,
    campaign_id: str | None = None,
) -> AsyncIterator[StoredPing]:
    """Live (not test) pings created from ``since`` to ``until`` (both included), oldest
    first."""
    columns = (
        _PING.c.id,
        _PING.c.campaign_id,
        _PING.c.status,
        _PING.c.reasons,
        _PING.c.fields,
        _PING.c.auction,
        _PING.c.created_at,
        _PING.c.lead_id,
    )
    after: tuple[dt.datetime, str] | None = None
    while True:
        query = select(*columns).where(_PING.c.test.is_(False), _PING.c.created_at >= since)
        if until is not None:
            query = query.where(_PING.c.created_at <= until)
        if campaign_id is not None:
            query = query.where(_PING.c.campaign_id == campaign_id)
        if after is not None:
            query = query.where(
                (_PING.c.created_at > after[0])
                | ((_PING.c.created_at == after[0]) & (_PING.c.id > after[1]))
            )
        query = query.order_by(_PING.c.created_at, _PING.c.id).limit(_PAGE)
        async with sessions() as session:
            rows = (await session.execute(query)).all()
        for row in rows:
            created = row.created_at
            if created.tzinfo is None:  # SQLite hands back naive UTC
                created = created.replace(tzinfo=dt.UTC)
            yield StoredPing(
                id=row.id,
                campaign_id=row.campaign_id,
                status=row.status,
                reasons=list(row.reasons or []),
                fields=dict(row.fields or {}),
                auction=dict(row.auction or {}),
                created_at=created,
                posted=row.lead_id is not None,
            )
        if len(rows) < _PAGE:
            return
        after = (rows[-1].created_at, rows[-1].id)


async def count_stored_pings(
    sessions: async_sessionmaker[AsyncSession],
    since: dt.datetime,
    until: dt.datetime | None = None,
    campaign_id: str | None = None,
    at_most: int = 10_000,
) -> int:
    """How many pings :func:`stored_pings` would give, counted up to ``at_most``."""
    query = select(_PING.c.id).where(_PING.c.test.is_(False), _PING.c.created_at >= since)
    if until is not None:
        query = query.where(_PING.c.created_at <= until)
    if campaign_id is not None:
        query = query.where(_PING.c.campaign_id == campaign_id)
    counted = select(func.count()).select_from(query.limit(at_most).subquery())
    async with sessions() as session:
        return int((await session.execute(counted)).scalar_one())
