"""Cap arithmetic: which counter a sale charges, by how much, until when (DESIGN §8.3).

A cap counts in a **window**. Hour windows are UTC hours (an hour is an hour everywhere);
day, week (from Monday) and month windows follow the local calendar of the order's time zone
(the buyer's for budget caps), so "100 a day" means the buyer's day, 23 or 25 hours long
across a DST change. A ``total`` cap has one window that never ends.

The counters themselves live in the store; this module only names them. ``now`` is always
an aware datetime from the clock port.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from pingtree.domain.money import to_cents
from pingtree.domain.orders import Cap, CapKind, CapWindow, Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.parties import Buyer

__all__ = [
    "ACCOUNT_WINDOW",
    "CapCharge",
    "account_charge",
    "account_scope",
    "cap_amount",
    "charges_for",
    "fits",
    "full_outcome",
    "full_reason",
    "window_end",
    "window_key",
]

_UTC = dt.UTC
_MIDNIGHT = dt.time(0, 0)


def window_key(window: CapWindow, now: dt.datetime, tz: str) -> str:
    """The name of the window of ``window`` that contains ``now``, seen from time zone ``tz``.

    ``"h:2026-11-23T14"`` (the UTC hour), ``"d:2026-11-23"`` (the local date),
    ``"w:2026-11-23"`` (the local Monday starting the week), ``"m:2026-11"`` (the local
    month), ``"t"`` (total). Keys sort chronologically within one window kind.

    Raises ``ValueError`` if ``now`` is naive; ``zoneinfo.ZoneInfoNotFoundError`` (a
    ``KeyError``) if ``tz`` is not a known IANA time zone.
    """
    _require_aware(now)
    if window is CapWindow.TOTAL:
        return "t"
    if window is CapWindow.HOUR:
        return f"h:{now.astimezone(_UTC):%Y-%m-%dT%H}"
    today = now.astimezone(ZoneInfo(tz)).date()
    if window is CapWindow.DAY:
        return f"d:{today.isoformat()}"
    if window is CapWindow.WEEK:
        return f"w:{_monday(today).isoformat()}"
    return f"m:{today:%Y-%m}"


def window_end(window: CapWindow, now: dt.datetime, tz: str) -> dt.datetime | None:
    """The aware UTC instant at which the window containing ``now`` ends; ``None`` for total.

    The end is the next UTC hour, or the next local midnight / Monday midnight / first of the
    month at midnight in ``tz``, converted to UTC: a New York day is 23 hours on the day DST
    starts and 25 on the day it ends. A local midnight that does not exist (a zone that
    springs forward at midnight) ends the window at the instant of the jump.
    It is always later than ``now``, and :func:`window_key` changes exactly there.

    Raises as :func:`window_key`.
    """
    _require_aware(now)
    if window is CapWindow.TOTAL:
        return None
    if window is CapWindow.HOUR:
        hour = now.astimezone(_UTC).replace(minute=0, second=0, microsecond=0)
        return hour + dt.timedelta(hours=1)
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    if window is CapWindow.DAY:
        next_start = today + dt.timedelta(days=1)
    elif window is CapWindow.WEEK:
        next_start = _monday(today) + dt.timedelta(weeks=1)
    else:
        next_start = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    # fold=0: a skipped midnight is read with the offset before the jump, i.e. the jump
    # itself; an ambiguous one as its first occurrence, when the local date first changes
    return dt.datetime.combine(next_start, _MIDNIGHT, tzinfo=zone).astimezone(_UTC)


def cap_amount(cap: Cap, price: Decimal) -> int:
    """What one sale at ``price`` adds to ``cap``: 1 for a count cap, the cents of ``price``
    for a spend cap.

    Raises ``ValueError`` for a spend cap if ``price`` is not a whole number of cents.
    """
    if cap.kind is CapKind.COUNT:
        return 1
    return to_cents(price)


@dataclass(frozen=True, slots=True)
class CapCharge:
    """What one sale adds to one cap's counter, and the limit that counter must respect.

    A counter is named by ``(scope, window_key)``. ``window_key`` is the cap's kind and
    :func:`window_key`, e.g. ``"count:d:2026-11-23"`` or ``"spend:d:2026-11-23"``, so the
    count and the spend of one order on one day never share a counter. Two caps of the same
    kind and window (say 100 and 120 a day) share their counter and each checks its limit.
    """

    #: ``"order:<order id>"`` or ``"buyer:<buyer id>"``
    scope: str
    window_key: str
    #: in the cap's unit: a count, or cents
    limit: int
    amount: int
    #: when the counter's window ends (aware UTC); ``None`` for a total cap
    window_end: dt.datetime | None
    #: ``True`` for the buyer's budget caps (``Outcome.BUDGET``), else the order's (``CAP``)
    is_budget: bool
    #: ``True`` for the buyer's account (``Outcome.BALANCE``): the counter is the buyer's
    #: balance negated (sales committed add to it, top-ups and credits take off it, so it
    #: may be below zero) and the limit its credit limit
    is_account: bool = False


def charges_for(
    order: Order, buyer: Buyer, price: Decimal, now: dt.datetime
) -> tuple[CapCharge, ...]:
    """The charges a sale of one lead to ``order`` at ``price`` makes at ``now``.

    One charge per cap of the order (windows in ``order.timezone``), then one per budget cap
    of its buyer (windows in ``buyer.timezone``), in their configured order, then the
    buyer's account when it has one (:func:`account_charge`). Empty when none applies.

    Raises ``ValueError`` if ``buyer`` is not the order's buyer, ``now`` is naive, or a
    spend cap meets a price that is not whole cents; ``ZoneInfoNotFoundError`` for an
    unknown time zone.
    """
    if buyer.id != order.buyer_id:
        raise ValueError(f"order {order.id} belongs to buyer {order.buyer_id}, not {buyer.id}")
    order_charges = (
        _charge(cap, f"order:{order.id}", order.timezone, price, now, is_budget=False)
        for cap in order.caps
    )
    budget_charges = (
        _charge(cap, f"buyer:{buyer.id}", buyer.timezone, price, now, is_budget=True)
        for cap in buyer.caps
    )
    account = () if buyer.account is None else (account_charge(buyer, price),)
    return (*order_charges, *budget_charges, *account)


#: the one window of an account's counter
ACCOUNT_WINDOW = "balance"


def account_scope(buyer_id: str) -> str:
    return f"account:{buyer_id}"


def account_charge(buyer: Buyer, price: Decimal) -> CapCharge:
    """What a sale at ``price`` takes from ``buyer``'s account: its price in cents, which
    must keep the counter (minus the balance) within the credit limit.

    Raises ``ValueError`` if the buyer has no account or ``price`` is not whole cents."""
    if buyer.account is None:
        raise ValueError(f"buyer {buyer.id} has no account")
    return CapCharge(
        scope=account_scope(buyer.id),
        window_key=ACCOUNT_WINDOW,
        limit=buyer.account.credit_limit_cents,
        amount=to_cents(price),
        window_end=None,
        is_budget=False,
        is_account=True,
    )


def full_outcome(charge: CapCharge) -> Outcome:
    """The trace's outcome for an order whose ``charge`` does not fit."""
    if charge.is_account:
        return Outcome.BALANCE
    return Outcome.BUDGET if charge.is_budget else Outcome.CAP


_FULL_REASONS = {
    Outcome.CAP: "cap reached",
    Outcome.BUDGET: "budget reached",
    Outcome.BALANCE: "balance cannot cover the price",
    Outcome.RETURN_RATE: "paused: return rate over the buyer's limit",
}


def full_reason(outcome: Outcome) -> str:
    """The trace's words for :func:`full_outcome`'s ``outcome``."""
    return _FULL_REASONS[outcome]


def fits(charge: CapCharge, used: int, held: int = 0) -> bool:
    """Whether ``charge`` still fits: ``used + held + amount <= limit``.

    ``used`` is what sales committed in the window, ``held`` what unexpired holds of won
    pings reserve there (the caller leaves out a hold that this charge itself converts).
    """
    return used + held + charge.amount <= charge.limit


def _charge(
    cap: Cap, scope: str, tz: str, price: Decimal, now: dt.datetime, *, is_budget: bool
) -> CapCharge:
    return CapCharge(
        scope=scope,
        window_key=f"{cap.kind.value}:{window_key(cap.window, now, tz)}",
        limit=cap.limit,
        amount=cap_amount(cap, price),
        window_end=window_end(cap.window, now, tz),
        is_budget=is_budget,
    )


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _require_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got {now!r}")
