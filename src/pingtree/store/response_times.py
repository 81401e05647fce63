"""Buyers' endpoints as the delivery log saw them: response times (average, p50, p90, max),
timeouts and errors per buyer and kind, then per order and kind, over a range ``[start, end)``
of attempts' ``started_at``. The reports page and API show them next to the figures of
:mod:`pingtree.store.reports`.

A ping's attempt says ``timeout`` or ``error`` in its outcome. A post's says what the
poster made of it (``delivery.poster``: ``retry``, ``unknown``, ``failed``), its
``error`` what happened (``timeout after sending``, ``HTTP 503``, ``connect``…):
:func:`is_timeout` and :func:`is_error` read both, so a buyer's 503s and post timeouts
count as the errors and timeouts they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import AttemptRow

__all__ = ["FAILED_POST_OUTCOMES", "BuyerPerf", "buyer_performance", "is_error", "is_timeout"]

#: a post attempt's outcomes (``delivery.poster.PostVerdict``) that are failures of the
#: exchange, not the buyer's answer: nothing processed (``retry``), not known (``unknown``),
#: the request could not be built (``failed``)
FAILED_POST_OUTCOMES = ("retry", "unknown", "failed")


def is_timeout(outcome: Any, error: Any) -> ColumnElement[bool]:
    """An attempt that ran out of time: a ping's ``timeout``, or a post whose error is a
    timeout (before or after sending)."""
    return or_(
        outcome == "timeout", and_(outcome.in_(FAILED_POST_OUTCOMES), error.like("timeout%"))
    )


def is_error(outcome: Any, error: Any) -> ColumnElement[bool]:
    """An attempt that failed otherwise: a ping's ``error``, a post that was not processed,
    not known or not sent (an HTTP 5xx, a connect failure, a reset…), a timeout not
    included."""
    failed = or_(outcome == "error", outcome.in_(FAILED_POST_OUTCOMES))
    return and_(failed, not_(is_timeout(outcome, error)))


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
            AttemptRow.error,
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

    def counted(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.count(case((condition, 1)))

    keys = [c.buyer_id, c.kind, *([c.order_id] if by_order else [])]
    query = select(
        *keys,
        func.count(),
        func.avg(c.duration_ms),
        at_rank(50),
        at_rank(90),
        func.max(c.duration_ms),
        counted(is_timeout(c.outcome, c.error)),
        counted(is_error(c.outcome, c.error)),
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
