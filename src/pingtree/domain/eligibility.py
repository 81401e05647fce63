"""Which orders may bid on a lead: the scan of DESIGN §2, one order at a time.

Every order that is not eligible ends with exactly one ineligible :class:`Outcome` and a
readable reason; the checks run cheapest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pingtree.domain.caps import full_reason
from pingtree.domain.orders import Leg, Order, OrderStatus
from pingtree.domain.outcomes import Outcome
from pingtree.domain.parties import Buyer
from pingtree.domain.schedules import is_open
from pingtree.domain.verticals import LeadValue

__all__ = [
    "CapCheck",
    "DedupCheck",
    "Ineligible",
    "LeadContext",
    "check_lead",
    "check_order",
    "check_standing",
    "legs_offered",
]


@dataclass(frozen=True, slots=True)
class LeadContext:
    """What the scan knows of one lead (a ping's fields, or a full lead's)."""

    values: Mapping[str, LeadValue]
    test: bool
    now: dt.datetime
    #: a filter on a field absent from the lead fails instead of passing
    qualify_all: bool
    #: the legs the campaign sells (exclusive only, or exclusive and shared)
    legs: frozenset[Leg]


@dataclass(frozen=True, slots=True)
class Ineligible:
    outcome: Outcome
    reason: str


#: cap room by the cached usage: ``order -> CAP | BUDGET | None``
CapCheck = Callable[[Order], Outcome | None]
#: the newest sale of this lead's phone/email to a buyer, if any
DedupCheck = Callable[[str], dt.datetime | None]


def legs_offered(max_sells: int) -> frozenset[Leg]:
    return frozenset({Leg.EXCLUSIVE}) if max_sells <= 1 else frozenset(Leg)


def check_standing(
    order: Order, buyer: Buyer, test: bool, legs: frozenset[Leg], now: dt.datetime
) -> Ineligible | None:
    """The checks that do not depend on the lead's fields: status, test mode, legs, schedule.

    Their answer holds for every lead of the same minute, so the hot path caches it
    (schedules are minute-granular).
    """
    if order.status is not OrderStatus.ACTIVE:
        return Ineligible(Outcome.PAUSED, "order paused")
    if not buyer.active:
        return Ineligible(Outcome.PAUSED, "buyer inactive")
    if order.test_mode != test:
        return Ineligible(Outcome.TEST_MODE, "test order" if order.test_mode else "live order")
    if not any(order.pricing.buys(leg) for leg in legs):
        return Ineligible(Outcome.LEG, "buys no leg on offer")
    if order.schedule is not None and not is_open(order.schedule, now):
        return Ineligible(Outcome.SCHEDULE, "closed by schedule")
    return None


def check_lead(
    order: Order,
    lead: LeadContext,
    cap_check: CapCheck,
    dedup_check: DedupCheck | None = None,
) -> Ineligible | None:
    """The checks of an order that stands: its filters on the lead, cap room, dedup.

    ``dedup_check`` is given only when the lead's phone/email are known (posts and direct
    posts); a ping has no PII and so no dedup.
    """
    if order.filter is not None:
        verdict = order.filter(lead.values, lead.qualify_all)
        if not verdict.passed:
            return Ineligible(Outcome.FILTER, verdict.reason)
    full = cap_check(order)
    if full is not None:
        return Ineligible(full, full_reason(full))
    if dedup_check is not None and order.dedup_days > 0:
        last = dedup_check(order.buyer_id)
        if last is not None and last > lead.now - dt.timedelta(days=order.dedup_days):
            return Ineligible(Outcome.DEDUP, f"sold to this buyer within {order.dedup_days} days")
    return None


def check_order(
    order: Order,
    buyer: Buyer,
    lead: LeadContext,
    cap_check: CapCheck,
    dedup_check: DedupCheck | None = None,
) -> Ineligible | None:
    """``None`` when the order may bid on this lead, else the first reason it may not."""
    return check_standing(order, buyer, lead.test, lead.legs, lead.now) or check_lead(
        order, lead, cap_check, dedup_check
    )
