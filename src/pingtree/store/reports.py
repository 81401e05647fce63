"""Reports and dashboard figures: read-only queries over the traffic tables.

The functions the admin API and the web UI call::

    period_bounds(period, now, zone=UTC) -> (start, end)
    summary(session, start, end, *, test=False) -> Figures
    timeseries(session, start, end, bucket, *, test=False, zone=UTC) -> list[Point]
    breakdown(session, by, start, end, *, test=False) -> list[Row]
    breakdown_total(session, by, start, end, *, test=False) -> Figures
    buyer_performance(session, start, end) -> list[BuyerPerf]   (store.response_times)
    cap_usage(ledger, order, buyer, now) -> list[CapUse]

A range is ``[start, end)`` of aware datetimes; buckets are days or hours of a time zone
(:mod:`pingtree.domain.report_days`; UTC unless one is given). Pings count
by their ``created_at``, leads by theirs, sales by theirs. ``test=False`` reports live
traffic only, ``test=True`` test traffic only: the two are never mixed.

A sale **counts** (revenue, cost, sold) only when its status is ``sold`` and it has not been
returned: a pending delivery, a buyer's rejection, an unknown answer and a return earn
nothing. Money is summed in SQL as integer cents and returned as ``Decimal``. Rates are
``float`` ratios in ``[0, 1]``, ``None`` when nothing was there to divide by.

Every query works on SQLite and PostgreSQL alike, except a row's seconds since the epoch,
which have one spelling per dialect (:func:`_epoch`): a row's local day is its seconds plus
the zone's offset at that moment (a ``CASE`` over the range's DST changes), divided by a
day's 86,400; its hour is its seconds since the first bucket divided by 3,600.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.caps import charges_for
from pingtree.domain.model import Buyer, Cap, CapKind, Order
from pingtree.domain.money import from_cents
from pingtree.domain.report_days import (
    PERIODS,
    UTC_ZONE,
    Bucket,
    OffsetSpan,
    Period,
    bucket_starts,
    day_number,
    offset_spans,
    period_bounds,
)
from pingtree.store.caps import CapLedger
from pingtree.store.response_times import BuyerPerf, buyer_performance
from pingtree.store.tables import Lead, Ping, Sale

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
    "breakdown_total",
    "bucket_key",
    "buyer_performance",
    "cap_usage",
    "period_bounds",
    "summary",
    "timeseries",
]

Dimension = Literal["supplier", "campaign", "buyer", "order", "vertical"]
BUCKETS: tuple[Bucket, ...] = ("day", "hour")
DIMENSIONS: tuple[Dimension, ...] = ("supplier", "campaign", "buyer", "order", "vertical")

_SECONDS: dict[Bucket, int] = {"day": 86_400, "hour": 3_600}
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
    """The figures of one bucket, which starts at ``start`` (in the report's time zone)."""

    start: dt.datetime


@dataclass(frozen=True)
class Row(Figures):
    """The figures of one supplier, campaign, buyer, order or vertical (its id: ``key``)."""

    key: str


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
    zone: ZoneInfo = UTC_ZONE,
) -> list[Point]:
    """One :class:`Point` per ``bucket`` (``day`` or ``hour`` of ``zone``) from the one
    containing ``start`` to the last one before ``end``, empty buckets included, oldest
    first; each ``start`` in ``zone``.

    Raises ``ValueError`` for another ``bucket``.
    """
    if bucket not in _SECONDS:
        raise ValueError(f"unknown bucket {bucket!r}: one of {', '.join(BUCKETS)}")
    starts = bucket_starts(start, end, bucket, zone)
    if not starts:
        return []
    dialect = session.get_bind().dialect.name
    spans = offset_spans(start, end, zone)

    def key_of(table: Any) -> ColumnElement[Any]:
        return bucket_key(table.created_at, dialect, bucket, starts[0], spans)

    counts = await _gather(session, start, end, test, key_of)
    keys = (
        [day_number(moment.date()) for moment in starts]
        if bucket == "day"
        else list(range(len(starts)))
    )
    return [
        Point(**counts.get(key, _ZERO), start=moment)
        for key, moment in zip(keys, starts, strict=True)
    ]


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


async def breakdown_total(
    session: AsyncSession,
    by: Dimension,
    start: dt.datetime,
    end: dt.datetime,
    *,
    test: bool = False,
) -> Figures:
    """The totals row of :func:`breakdown` (``by``): the same figures over every group at
    once, so a lead sold to two buyers is one sold lead, as in :func:`summary`.

    Raises ``ValueError`` for another ``by``."""
    if by not in _COLUMN:
        raise ValueError(f"unknown dimension {by!r}: one of {', '.join(DIMENSIONS)}")
    counts = await _gather(session, start, end, test, None, inbound=by in _INBOUND)
    return Figures(**counts.get("", _ZERO))


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
) -> dict[Any, dict[str, Any]]:
    """:class:`Figures`' fields by group key (``""`` for the one group of no ``key_of``).

    With ``inbound`` false (buyers, orders) pings and posts are not counted, and ``leads``
    counts the distinct leads with a sale row of any status.
    """
    found: dict[Any, dict[str, Any]] = {}
    # SQLite compares the text of naive UTC: a bound in another zone would be read as UTC
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)

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


def bucket_key(
    column: Any, dialect: str, bucket: Bucket, first: dt.datetime, spans: list[OffsetSpan]
) -> ColumnElement[Any]:
    """A row's bucket: its local day number (:func:`day_number`), or its hour's index from
    ``first``.

    Constants are literal SQL, not parameters: PostgreSQL matches a GROUP BY expression to
    the selected one by its text, and two parameters never read alike. They are integers we
    computed."""
    epoch = _epoch(column, dialect)
    if bucket == "hour":
        return (epoch - _number(int(first.timestamp()))) // _number(_SECONDS["hour"])
    offset: ColumnElement[Any] = _number(int(spans[-1].offset.total_seconds()))
    if len(spans) > 1:
        offset = case(
            *[
                (epoch < _number(int(after.since.timestamp())), _seconds(span.offset))
                for span, after in itertools.pairwise(spans)
                if after.since is not None
            ],
            else_=_seconds(spans[-1].offset),
        )
    return (epoch + offset) // _number(_SECONDS["day"])


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    """Whole seconds since 1970 (UTC) of a ``created_at``. SQLite stores UTC as naive text;
    PostgreSQL stores ``timestamptz``."""
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", column)), BigInteger)
    return cast(func.strftime(literal_column("'%s'"), column), BigInteger)


def _seconds(offset: dt.timedelta) -> ColumnElement[Any]:
    return _number(int(offset.total_seconds()))


def _number(value: int) -> ColumnElement[Any]:
    return literal_column(str(int(value)), Integer)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
