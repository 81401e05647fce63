"""Reports and dashboard figures: read-only queries over the traffic tables.

The functions the admin API and the web UI call::

    period_bounds(period, now) -> (start, end)
    summary(session, start, end, *, test=False) -> Figures
    timeseries(session, start, end, bucket, *, test=False) -> list[Point]
    breakdown(session, by, start, end, *, test=False) -> list[Row]
    buyer_performance(session, start, end) -> list[BuyerPerf]
    cap_usage(ledger, order, buyer, now) -> list[CapUse]

A range is ``[start, end)`` of aware datetimes; buckets are UTC days or hours. Pings count
by their ``created_at``, leads by theirs, sales by theirs. ``test=False`` reports live
traffic only, ``test=True`` test traffic only: the two are never mixed.

A sale **counts** (revenue, cost, sold) only when its status is ``sold`` and it has not been
returned: a pending delivery, a buyer's rejection, an unknown answer and a return earn
nothing. Money is summed in SQL as integer cents and returned as ``Decimal``. Rates are
``float`` ratios in ``[0, 1]``, ``None`` when nothing was there to divide by.

Every query works on SQLite and PostgreSQL alike, except the bucket label, which has one
spelling per dialect (:func:`_bucket_label`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.caps import charges_for
from pingtree.domain.model import Buyer, Cap, CapKind, Order
from pingtree.domain.money import from_cents
from pingtree.store.caps import CapLedger
from pingtree.store.tables import AttemptRow, Lead, Ping, Sale

__all__ = [
    "BUCKETS",
    "DIMENSIONS",
    "PERIODS",
    "Bucket",
    "BuyerPerf",
    "CapUse",
    "Dimension",
    "Figures",
    "Period",
    "Point",
    "Row",
    "breakdown",
    "buyer_performance",
    "cap_usage",
    "period_bounds",
    "summary",
    "timeseries",
]

Period = Literal["today", "7d", "30d"]
Bucket = Literal["day", "hour"]
Dimension = Literal["supplier", "campaign", "buyer", "order", "vertical"]
PERIODS: tuple[Period, ...] = ("today", "7d", "30d")
BUCKETS: tuple[Bucket, ...] = ("day", "hour")
DIMENSIONS: tuple[Dimension, ...] = ("supplier", "campaign", "buyer", "order", "vertical")

_PERIOD_DAYS: dict[Period, int] = {"today": 1, "7d": 7, "30d": 30}
_STEP: dict[Bucket, dt.timedelta] = {"day": dt.timedelta(days=1), "hour": dt.timedelta(hours=1)}
#: the column each dimension groups by; buyers and orders exist only on sales
_COLUMN: dict[Dimension, str] = {
    "supplier": "supplier_id",
    "campaign": "campaign_id",
    "buyer": "buyer_id",
    "order": "order_id",
    "vertical": "vertical_id",
}
_INBOUND: frozenset[Dimension] = frozenset({"supplier", "campaign", "vertical"})


@dataclass(frozen=True)
class Figures:
    """What happened in a range.

    For a buyer or an order (a :class:`Row` of ``by="buyer"`` or ``"order"``) the inbound
    counts do not apply: ``pings``, ``accepted_pings`` and ``posts`` are 0, ``leads`` are the
    leads delivered to it (any sale status), so ``sell_rate`` is its acceptance of them.
    """

    #: pings received, and those answered with a bid
    pings: int
    accepted_pings: int
    #: leads received (posts and direct posts), and those posted after a ping
    leads: int
    posts: int
    #: leads with at least one counting sale, and the counting sales (a shared lead's
    #: sales count once per buyer)
    sold: int
    sales: int
    #: what buyers pay and what suppliers are paid, over counting sales
    revenue: Decimal
    cost: Decimal

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted pings ÷ pings."""
        return _ratio(self.accepted_pings, self.pings)

    @property
    def conversion(self) -> float | None:
        """Ping → post: posts ÷ accepted pings."""
        return _ratio(self.posts, self.accepted_pings)

    @property
    def sell_rate(self) -> float | None:
        """Sold leads ÷ leads."""
        return _ratio(self.sold, self.leads)


@dataclass(frozen=True)
class Point(Figures):
    """The figures of one bucket, which starts at ``start`` (UTC)."""

    start: dt.datetime


@dataclass(frozen=True)
class Row(Figures):
    """The figures of one supplier, campaign, buyer, order or vertical (its id: ``key``)."""

    key: str


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


@dataclass(frozen=True)
class CapUse:
    """One cap of an order (``scope`` ``order``) or of its buyer's budget (``buyer``) in the
    window containing ``now``. ``limit``, ``used`` and ``held`` are counts (``int``) for a
    count cap and money (``Decimal``) for a spend cap."""

    scope: Literal["order", "buyer"]
    cap: Cap
    window_key: str
    limit: int | Decimal
    #: committed by sales
    used: int | Decimal
    #: reserved by unexpired holds of won pings
    held: int | Decimal
    #: when the window turns over (UTC); ``None`` for a total cap
    resets_at: dt.datetime | None


def period_bounds(period: Period, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of whole UTC days ending with today: ``today`` is today, ``7d`` today
    and the six days before it, ``30d`` the same over 30 days.

    Raises ``ValueError`` for another ``period`` or a naive ``now``.
    """
    if period not in _PERIOD_DAYS:
        raise ValueError(f"unknown period {period!r}: one of {', '.join(PERIODS)}")
    if now.tzinfo is None:
        raise ValueError(f"now must be an aware datetime, got {now!r}")
    end = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    end += dt.timedelta(days=1)
    return end - dt.timedelta(days=_PERIOD_DAYS[period]), end


async def summary(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, *, test: bool = False
) -> Figures:
    """The figures of ``[start, end)``: all zero when nothing happened."""
    counts = await _gather(session, start, end, test, None)
    return Figures(**counts.get("", _ZERO))


async def timeseries(
    session: AsyncSession,
    start: dt.datetime,
    end: dt.datetime,
    bucket: Bucket,
    *,
    test: bool = False,
) -> list[Point]:
    """One :class:`Point` per UTC ``bucket`` (``day`` or ``hour``) from the one containing
    ``start`` to the last one before ``end``, empty buckets included, oldest first.

    Raises ``ValueError`` for another ``bucket``.
    """
    if bucket not in _STEP:
        raise ValueError(f"unknown bucket {bucket!r}: one of {', '.join(BUCKETS)}")
    dialect = session.get_bind().dialect.name
    counts = await _gather(session, start, end, test, lambda t: _bucket_label(t, bucket, dialect))
    points = []
    for moment in _bucket_starts(start, end, bucket):
        label = _format_label(moment, bucket)
        points.append(Point(**counts.get(label, _ZERO), start=moment))
    return points


async def breakdown(
    session: AsyncSession,
    by: Dimension,
    start: dt.datetime,
    end: dt.datetime,
    *,
    test: bool = False,
) -> list[Row]:
    """One :class:`Row` per supplier, campaign, buyer, order or vertical (``by``) with any
    traffic in ``[start, end)``, by revenue (highest first), then id.

    Raises ``ValueError`` for another ``by``.
    """
    if by not in _COLUMN:
        raise ValueError(f"unknown dimension {by!r}: one of {', '.join(DIMENSIONS)}")
    name = _COLUMN[by]
    counts = await _gather(
        session, start, end, test, lambda t: getattr(t, name), inbound=by in _INBOUND
    )
    rows = [Row(**figures, key=key) for key, figures in counts.items()]
    return sorted(rows, key=lambda row: (-row.revenue, row.key))


async def buyer_performance(
    session: AsyncSession, start: dt.datetime, end: dt.datetime
) -> list[BuyerPerf]:
    """Response times, timeouts and errors of buyers' endpoints in ``[start, end)``, from
    the delivery log: per buyer and kind, then per order and kind, sorted by buyer, then
    ``order_id`` (a buyer's own row first), then kind. Empty when nothing was sent."""
    per_buyer = await _attempt_stats(session, start, end, by_order=False)
    per_order = await _attempt_stats(session, start, end, by_order=True)
    return sorted([*per_buyer, *per_order], key=lambda p: (p.buyer_id, p.order_id or "", p.kind))


async def cap_usage(
    ledger: CapLedger, order: Order, buyer: Buyer, now: dt.datetime
) -> list[CapUse]:
    """Each cap of ``order``, then each budget cap of its ``buyer``, as used in the window
    containing ``now``. Empty when neither has caps.

    Raises ``ValueError`` if ``buyer`` is not the order's buyer or ``now`` is naive.
    """
    charges = charges_for(order, buyer, Decimal(0), now)  # the price changes no window
    if not charges:
        return []
    caps = [*order.caps, *buyer.caps]
    usage = await ledger.usage([(c.scope, c.window_key) for c in charges], now)
    uses = []
    for cap, charge in zip(caps, charges, strict=True):
        used, held = usage.get((charge.scope, charge.window_key), (0, 0))
        amount = from_cents if cap.kind is CapKind.SPEND else int
        uses.append(
            CapUse(
                scope="buyer" if charge.is_budget else "order",
                cap=cap,
                window_key=charge.window_key,
                limit=amount(cap.limit),
                used=amount(used),
                held=amount(held),
                resets_at=charge.window_end,
            )
        )
    return uses


# --- the queries -----------------------------------------------------------------------------

_ZERO: dict[str, Any] = {
    "pings": 0,
    "accepted_pings": 0,
    "leads": 0,
    "posts": 0,
    "sold": 0,
    "sales": 0,
    "revenue": Decimal("0.00"),
    "cost": Decimal("0.00"),
}

#: the column to group a table by (its class given), or ``None`` for one group
KeyOf = Callable[[Any], ColumnElement[Any]] | None


async def _gather(
    session: AsyncSession,
    start: dt.datetime,
    end: dt.datetime,
    test: bool,
    key_of: KeyOf,
    *,
    inbound: bool = True,
) -> dict[str, dict[str, Any]]:
    """:class:`Figures`' fields by group key (``""`` for the one group of no ``key_of``).

    With ``inbound`` false (buyers, orders) pings and posts are not counted, and ``leads``
    counts the distinct leads with a sale row of any status.
    """
    found: dict[str, dict[str, Any]] = {}

    async def add(
        table: Any, columns: Mapping[str, ColumnElement[Any]], *only: ColumnElement[bool]
    ) -> None:
        key = None if key_of is None else key_of(table)
        query = select(*([] if key is None else [key]), *columns.values()).where(
            table.created_at >= start, table.created_at < end, table.test == test, *only
        )
        if key is not None:
            query = query.group_by(key)
        for row in await session.execute(query):
            group, values = ("", row) if key is None else (row[0], row[1:])
            figures = found.setdefault(group, dict(_ZERO))
            for name, value in zip(columns, values, strict=True):
                figures[name] = _money(value) if name in ("revenue", "cost") else int(value)

    if inbound:
        accepted = func.count(case((Ping.status == "accepted", 1)))
        await add(Ping, {"pings": func.count(), "accepted_pings": accepted})
        await add(Lead, {"leads": func.count(), "posts": func.count(Lead.ping_id)})
    else:
        await add(Sale, {"leads": func.count(func.distinct(Sale.lead_id))})
    earning = {
        "sold": func.count(func.distinct(Sale.lead_id)),
        "sales": func.count(),
        "revenue": func.coalesce(func.sum(Sale.revenue_cents), 0),
        "cost": func.coalesce(func.sum(Sale.cost_cents), 0),
    }
    await add(Sale, earning, Sale.status == "sold", Sale.returned_at.is_(None))
    return found


def _money(cents: Any) -> Decimal:
    # PostgreSQL sums BIGINT as NUMERIC (a Decimal), SQLite as an int: cents either way
    return from_cents(int(cents))


def _bucket_label(table: Any, bucket: Bucket, dialect: str) -> ColumnElement[str]:
    """``created_at`` as the label of its UTC bucket, ``2026-11-23`` or ``2026-11-23T15``.

    SQLite stores UTC as naive text; PostgreSQL stores ``timestamptz``, read in UTC here
    whatever the session's time zone.
    """
    # constants as literal SQL, not parameters: PostgreSQL matches a GROUP BY expression to
    # the selected one by its text, and two parameters never read alike
    column = table.created_at
    if dialect == "postgresql":
        pattern = "'YYYY-MM-DD'" if bucket == "day" else """'YYYY-MM-DD"T"HH24'"""
        utc = func.timezone(literal_column("'UTC'"), column)
        return func.to_char(utc, literal_column(pattern))
    pattern = "'%Y-%m-%d'" if bucket == "day" else "'%Y-%m-%dT%H'"
    return func.strftime(literal_column(pattern), column)


def _format_label(moment: dt.datetime, bucket: Bucket) -> str:
    return f"{moment:%Y-%m-%d}" if bucket == "day" else f"{moment:%Y-%m-%dT%H}"


def _bucket_starts(start: dt.datetime, end: dt.datetime, bucket: Bucket) -> list[dt.datetime]:
    moment = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        moment = moment.replace(hour=0)
    starts = []
    while moment < end:
        starts.append(moment)
        moment += _STEP[bucket]
    return starts


async def _attempt_stats(
    session: AsyncSession, start: dt.datetime, end: dt.datetime, *, by_order: bool
) -> list[BuyerPerf]:
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


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
