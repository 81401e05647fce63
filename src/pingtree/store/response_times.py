"""Buyers' endpoints as the delivery log saw them: response times (average, p50, p90, max),
timeouts and errors per buyer and kind, then per order and kind, over a range ``[start, end)``
of attempts' ``started_at``. The reports page and API show them next to the figures of
:mod:`pingtree.store.reports`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import AttemptRow

__all__ = ["BuyerPerf", "buyer_performance"]


@dataclass(frozen=True)
class BuyerPerf:
    """How a buyer (``order_id`` ``None``) or one of its orders answered one ``kind`` of
    request (``ping`` or ``post``), from the delivery log."""

    buyer_id: str
    order_id: str | None
    kind: str
    attempts: int
    avg_ms: float
    #: nearest-rank percentiles: the smallest duration at or above that share of attempts
    p50_ms: int
    p90_ms: int
    max_ms: int
    timeouts: int
    errors: int

    @property
    def timeout_rate(self) -> float:
        return self.timeouts / self.attempts

    @property
    def error_rate(self) -> float:
        return self.errors / self.attempts


async def buyer_performance(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[BuyerPerf]:
    """Response times, timeouts and errors of buyers' endpoints in ``[start, end)``, from
    the delivery log: per buyer and kind, then per order and kind, sorted by buyer, then
    ``order_id`` (a buyer's own row first), then kind. Empty when nothing was sent."""
    per_buyer = await _attempt_stats(session, start, end, by_order=False)
    per_order = await _attempt_stats(session, start, end, by_order=True)
    return sorted([*per_buyer, *per_order], key=lambda p: (p.buyer_id, p.order_id or "", p.kind))


async def _attempt_stats(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, *, by_order: bool
) -> list[BuyerPerf]:
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)  # as in _gather
    # percentiles by rank within each group (window functions: SQLite ≥ 3.25 and
    # PostgreSQL alike); the nearest rank of share p among n is ceil(p·n), in integers
    group = [AttemptRow.buyer_id, AttemptRow.kind, *([AttemptRow.order_id] if by_order else [])]
    ranked = (
        select(
            *group,
            AttemptRow.duration_ms,
            AttemptRow.outcome,
            func.row_number()
            .over(partition_by=group, order_by=AttemptRow.duration_ms)
            .label("nth"),
            func.count().over(partition_by=group).label("n"),
        )
        .where(AttemptRow.started_at >= start, AttemptRow.started_at < end)
        .subquery()
    )
    c = ranked.c

    def at_rank(percent: int) -> ColumnElement[Any]:
        return func.max(case((c.nth == (c.n * percent + 99) // 100, c.duration_ms)))

    def outcomes(outcome: str) -> ColumnElement[Any]:
        return func.count(case((c.outcome == outcome, 1)))

    keys = [c.buyer_id, c.kind, *([c.order_id] if by_order else [])]
    query = select(
        *keys,
        func.count(),
        func.avg(c.duration_ms),
        at_rank(50),
        at_rank(90),
        func.max(c.duration_ms),
        outcomes("timeout"),
        outcomes("error"),
    ).group_by(*keys)
    stats = []
    for buyer_id, kind, *rest in (await session.execute(query)).all():
        order_id = rest.pop(0) if by_order else None
        attempts, avg, p50, p90, longest, timeouts, errors = rest
        stats.append(
            BuyerPerf(
                buyer_id=buyer_id,
                order_id=order_id,
                kind=kind,
                attempts=attempts,
                avg_ms=round(float(avg), 1),
                p50_ms=p50,
                p90_ms=p90,
                max_ms=longest,
                timeouts=timeouts,
                errors=errors,
            )
        )
    return stats
