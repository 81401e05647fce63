"""An order as the domain sees it: a buyer's standing demand on one vertical, with its
pricing and legs, filter, caps, schedule, priority and weight.

Money is ``Decimal`` (quantized to the cent). Cap limits are integers in the cap's unit:
a count, or cents for spend caps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pingtree.domain.filter_rules import CompiledFilter, FieldGate

__all__ = [
    "Cap",
    "CapKind",
    "CapWindow",
    "Leg",
    "Order",
    "OrderStatus",
    "Pricing",
    "PricingKind",
    "Schedule",
    "WeeklyInterval",
]


@dataclass(frozen=True, slots=True)
class WeeklyInterval:
    """Open on ``weekday`` (0 = Monday) from ``start`` to ``end`` local minutes after midnight.

    ``end`` may exceed 1440 for an interval that crosses midnight into the next day.
    """

    weekday: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Schedule:
    timezone: str
    intervals: tuple[WeeklyInterval, ...]
    closed_dates: frozenset[dt.date] = frozenset()


class CapKind(StrEnum):
    COUNT = "count"
    SPEND = "spend"


class CapWindow(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"


@dataclass(frozen=True, slots=True)
class Cap:
    kind: CapKind
    window: CapWindow
    #: a count, or cents for ``spend``
    limit: int


class OrderStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class PricingKind(StrEnum):
    FIXED = "fixed"
    BID = "bid"


class Leg(StrEnum):
    """How a lead is sold to an order: alone, or as one of up to ``max_sells`` buyers."""

    EXCLUSIVE = "exclusive"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class Pricing:
    kind: PricingKind
    #: fixed prices per leg; ``None`` means the order does not buy that leg. For ``bid``
    #: orders these are unused, and ``legs`` says which legs the buyer's bid applies to.
    exclusive: Decimal | None = None
    shared: Decimal | None = None
    legs: frozenset[Leg] = frozenset({Leg.EXCLUSIVE})
    #: bids below the floor are dropped (``below_floor``)
    floor: Decimal | None = None
    #: bids above it are refused (``above_max_bid``)
    max_bid: Decimal | None = None
    #: the floor itself is below it too: a bid must be over the floor (``floor: {gt: …}``)
    floor_strict: bool = False
    #: a fixed-price order whose buyer is pinged first for a yes or no (an accept-only
    #: ping step): priced at its fixed price only once the ping is accepted
    pinged: bool = False

    @property
    def asked_per_lead(self) -> bool:
        """Whether the order's buyer is pinged for each lead (a bid order, or a fixed-price
        order with an accept-only ping) rather than priced by configuration alone."""
        return self.kind is PricingKind.BID or self.pinged

    def below_floor(self, bid: Decimal) -> bool:
        """Whether a bid falls short of the floor (at least it, or over it when strict)."""
        if self.floor is None:
            return False
        return bid <= self.floor if self.floor_strict else bid < self.floor

    def buys(self, leg: Leg) -> bool:
        if self.kind is PricingKind.FIXED:
            return self.fixed_price(leg) is not None
        return leg in self.legs

    def fixed_price(self, leg: Leg) -> Decimal | None:
        """The fixed price of one leg; ``None`` for bid orders and legs not bought."""
        if self.kind is not PricingKind.FIXED:
            return None
        return self.exclusive if leg is Leg.EXCLUSIVE else self.shared


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    buyer_id: str
    vertical_id: str
    name: str
    status: OrderStatus
    pricing: Pricing
    filter: CompiledFilter | None = None
    #: the only states whose leads can pass ``filter`` (``None``: any state may): the hot
    #: path indexes orders by state with it (see ``domain.filter_gates.state_gate``)
    state_gate: frozenset[str] | None = None
    #: what the lead's fields must be for ``filter`` to pass, read from its top-level
    #: ``all``: the snapshot's index skips the orders a lead's values rule out
    gates: tuple[FieldGate, ...] = ()
    caps: tuple[Cap, ...] = ()
    schedule: Schedule | None = None
    #: a lower number is served first when a campaign ranks by priority; ties on price
    #: also go to the lower number
    priority: int = 100
    #: relative chance among equals (same price and priority)
    weight: int = 1
    #: the same phone or email is not sold to this buyer twice within this many days
    dedup_days: int = 0
    #: a test order takes only test leads; a live order only live ones
    test_mode: bool = False
    #: the order's time zone for its cap windows (defaults to its schedule's)
    timezone: str = "UTC"
    #: free-form delivery spec; ``None`` means the buyer collects in the portal/API
    delivery: Mapping[str, object] | None = None
    #: the buyer may ask to return a lead for this many days after the sale (0: never)
    return_window_days: int = 0
