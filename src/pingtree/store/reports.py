"""Reports and dashboard figures: counts of the traffic tables, money of the ledger.

The functions the admin API and the web UI call::

    period_bounds(period, now, zone=UTC) -> (start, end)
    summary(session, start, end, *, test=False) -> Figures
    timeseries(session, start, end, bucket, *, test=False, zone=UTC) -> list[Point]
    breakdown(session, by, start, end, *, test=False) -> list[Row]
    breakdown_total(session, by, start, end, *, test=False) -> Figures
    buyer_performance(session, start, end) -> list[BuyerPerf]   (store.response_times)
    cap_usage(ledger, order, buyer, now) -> list[CapUse]

A range is ``[start, end)`` of aware datetimes; buckets are days or hours of a time zone
(:mod:`pingtree.domain.report_days`; UTC unless one is given). ``test=False`` reports live
traffic only, ``test=True`` test traffic only: the two are never mixed.

**Figures come from the ledger** (DESIGN §9): every amount of money is a sum of ledger
entries of sales (:mod:`pingtree.store.report_queries` says which), gross and net of
returns; a report that disagrees with the ledger by a cent is a defect. Counts come from
the pings, leads and sales: a sold sale counts in ``sold`` and ``sales`` on the day it was
sold even if returned later, and in ``returned`` on the day its return was approved, as its
money does. Money is summed in SQL as integer cents and returned as ``Decimal``. Rates are
``float`` ratios in ``[0, 1]``, ``None`` when nothing was there to divide by.

A breakdown groups by a column (:data:`DIMENSIONS`: supplier, campaign, buyer, order,
vertical) or by a field of the lead (:data:`ATTRIBUTION`: ``sub_id``, ``click_id``, the
``utm_*``…, and any field a vertical marks as a report dimension), read from the lead's
fields as the seller sent them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.caps import charges_for
from pingtree.domain.money import from_cents
from pingtree.domain.orders import Cap, CapKind, Order
from pingtree.domain.parties import Buyer
from pingtree.domain.report_days import (
    PERIODS,
    UTC_ZONE,
    Bucket,
    Period,
    bucket_starts,
    day_number,
    offset_spans,
    period_bounds,
)
from pingtree.store.caps import CapLedger
from pingtree.store.report_queries import (
    SECONDS,
    ZERO,
    Grouping,
    bucket_key,
    column_key,
    field_key,
    gather,
)
from pingtree.store.response_times import BuyerPerf, buyer_performance

__all__ = [
    "ATTRIBUTION",
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
    "is_column",
    "period_bounds",
    "summary",
    "timeseries",
]

#: what a breakdown groups by: one of :data:`DIMENSIONS` (a column of the rows), or the name
#: of a lead's field (:data:`ATTRIBUTION`, or a field a vertical marks as a report dimension)
Dimension = str
BUCKETS: tuple[Bucket, ...] = ("day", "hour")
DIMENSIONS: tuple[Dimension, ...] = ("supplier", "campaign", "buyer", "order", "vertical")
#: the tracking fields every vertical inherits that reports group by (DESIGN §8.2)
ATTRIBUTION: tuple[Dimension, ...] = (
    "sub_id",
    "sub_id2",
    "sub_id3",
    "click_id",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)

#: the column each dimension groups by; buyers and orders exist only on sales and entries
_COLUMN: dict[Dimension, str] = {
    "supplier": "supplier_id",
    "campaign": "campaign_id",
    "buyer": "buyer_id",
    "order": "order_id",
    "vertical": "vertical_id",
}
_OUTBOUND: frozenset[Dimension] = frozenset({"buyer", "order"})
#: a field's name as the configuration allows it (``config.schema``'s ``FieldName``)
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


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
    #: leads with at least one sold sale, and the sold sales (a shared lead's sales count
    #: once per buyer), returned later or not
    sold: int
    sales: int
    #: sales whose return was approved in the range
    returned: int
    #: what buyers were charged for sales, and credited back for returns (ledger)
    gross_revenue: Decimal
    returns: Decimal
    #: what suppliers earned for sales, and were charged back for returns (ledger)
    gross_cost: Decimal
    chargebacks: Decimal

    @property
    def revenue(self) -> Decimal:
        """Net revenue: gross revenue less returns."""
        return self.gross_revenue - self.returns

    @property
    def cost(self) -> Decimal:
        """Net cost: gross cost less chargebacks."""
        return self.gross_cost - self.chargebacks

    @property
    def profit(self) -> Decimal:
        """Net profit: net revenue less net cost."""
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

    @property
    def return_rate(self) -> float | None:
        """Returned sales ÷ sold sales (of the same range: a return counts when approved)."""
        return _ratio(self.returned, self.sales)


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
    counts = await gather(session, start, end, test, None)
    return Figures(**counts.get("", ZERO))


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
    if bucket not in SECONDS:
        raise ValueError(f"unknown bucket {bucket!r}: one of {', '.join(BUCKETS)}")
    starts = bucket_starts(start, end, bucket, zone)
    if not starts:
        return []
    dialect = session.get_bind().dialect.name
    spans = offset_spans(start, end, zone)
    grouping = Grouping(
        lambda _table, moment: bucket_key(moment, dialect, bucket, starts[0], spans)
    )
    counts = await gather(session, start, end, test, grouping)
    keys = (
        [day_number(moment.date()) for moment in starts]
        if bucket == "day"
        else list(range(len(starts)))
    )
    return [
        Point(**counts.get(key, ZERO), start=moment)
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
    """One :class:`Row` per value of ``by`` with any traffic in ``[start, end)``, by net
    revenue (highest first), then key. For a lead's field the key is its value as sent,
    ``""`` for the leads that had none.

    Raises ``ValueError`` for a ``by`` that is neither a dimension nor a field's name.
    """
    counts = await gather(session, start, end, test, _grouping(by), inbound=by not in _OUTBOUND)
    rows = [Row(**figures, key=str(key)) for key, figures in counts.items()]
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

    Raises ``ValueError`` for a ``by`` that is neither a dimension nor a field's name."""
    _grouping(by)
    counts = await gather(session, start, end, test, None, inbound=by not in _OUTBOUND)
    return Figures(**counts.get("", ZERO))


def is_column(by: Dimension) -> bool:
    """Whether ``by`` is one of :data:`DIMENSIONS` (else it names a lead's field)."""
    return by in _COLUMN


def _grouping(by: Dimension) -> Grouping:
    if by in _COLUMN:
        return column_key(_COLUMN[by])
    if not _FIELD_NAME.fullmatch(by):
        raise ValueError(
            f"unknown dimension {by!r}: one of {', '.join(DIMENSIONS)}, or a field's name"
        )
    return field_key(by)


async def cap_usage(
    ledger: CapLedger, order: Order, buyer: Buyer, now: dt.datetime
) -> list[CapUse]:
    """Each cap of ``order``, then each budget cap of its ``buyer``, as used in the window
    containing ``now``. Empty when neither has caps.

    Raises ``ValueError`` if ``buyer`` is not the order's buyer or ``now`` is naive.
    """
    # the price changes no window; the account is not a cap (its balance is the ledger's)
    charges = [c for c in charges_for(order, buyer, Decimal(0), now) if not c.is_account]
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


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
