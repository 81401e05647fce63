"""Compiling a buyer and its orders (``buyers[]``, ``buyers[].orders[]``): time zones,
schedules, caps and budgets, accounts, pricing and floors, each checked at its YAML path.
An order's filters and geography are compiled by ``config.filters``; its HTTP delivery by
``config.compile``, once the order stands."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pingtree.config.buyer_spec import (
    BidPricingSpec,
    BuyerSpec,
    CapSpec,
    FloorSpec,
    OrderSpec,
    PricingSpec,
    ScheduleSpec,
)
from pingtree.config.errors import Issues
from pingtree.config.filters import compile_order_filter
from pingtree.config.return_rules import compile_return_rule
from pingtree.config.verticals import vertical_ref
from pingtree.domain.money import parse_money, to_cents
from pingtree.domain.orders import (
    Cap,
    CapKind,
    Order,
    Pricing,
    PricingKind,
    Schedule,
    WeeklyInterval,
)
from pingtree.domain.parties import Account, AccountKind, Buyer
from pingtree.domain.schedules import parse_hhmm_range
from pingtree.domain.verticals import Vertical

__all__ = ["compile_buyer", "compile_order"]

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def compile_buyer(spec: BuyerSpec, path: str, issues: Issues) -> Buyer:
    """The buyer ``spec`` describes (its orders are compiled one by one)."""
    _check_timezone(spec.timezone, f"{path}.timezone", issues)
    return Buyer(
        id=spec.id,
        name=spec.name or spec.id,
        active=spec.active,
        caps=_caps(spec.budget, f"{path}.budget", issues),
        timezone=spec.timezone,
        account=_account(spec, path, issues),
        return_rule=compile_return_rule(spec.return_rule, f"{path}.return_rule", issues),
    )


def _account(spec: BuyerSpec, path: str, issues: Issues) -> Account | None:
    account = spec.account
    if account is None:
        return None
    if account.credit_limit < 0:
        issues.add(f"{path}.account.credit_limit", "must not be negative", account.credit_limit)
    if account.kind is AccountKind.PREPAID and account.credit_limit:
        issues.add(
            f"{path}.account.credit_limit",
            "is for a credit account; a prepaid one spends its balance only",
            account.credit_limit,
        )
    return Account(account.kind, to_cents(account.credit_limit) if account.credit_limit > 0 else 0)


def compile_order(
    spec: OrderSpec,
    buyer: BuyerSpec,
    path: str,
    verticals: Mapping[str, Vertical],
    issues: Issues,
) -> Order | None:
    """The order ``spec`` of ``buyer`` describes, its time zone defaulting to its
    schedule's, then the buyer's; ``None`` when its vertical is unknown (its other issues
    are still collected). ``verticals`` carry their steps' results, which filters may name."""
    vertical = vertical_ref(spec.vertical, path, verticals, issues)
    issues.at_least(f"{path}.priority", spec.priority, 0)
    issues.at_least(f"{path}.weight", spec.weight, 1)
    issues.at_least(f"{path}.dedup_days", spec.dedup_days, 0)
    pricing = _pricing(spec.pricing, f"{path}.pricing", issues)
    caps = _caps(spec.caps, f"{path}.caps", issues)

    if spec.timezone is not None:
        _check_timezone(spec.timezone, f"{path}.timezone", issues)
    schedule: Schedule | None = None
    if spec.schedule is not None:
        zone = spec.schedule.timezone or spec.timezone or buyer.timezone
        schedule = _schedule(spec.schedule, zone, f"{path}.schedule", issues)
    timezone = spec.timezone or (schedule.timezone if schedule else None) or buyer.timezone

    if vertical is None:
        return None
    compiled_filter, gate, gates = compile_order_filter(
        spec.filters, spec.geo, vertical, path, issues
    )
    return Order(
        id=spec.id,
        buyer_id=buyer.id,
        vertical_id=vertical.id,
        name=spec.name or spec.id,
        status=spec.status,
        pricing=pricing,
        filter=compiled_filter,
        state_gate=gate,
        gates=gates,
        caps=caps,
        schedule=schedule,
        priority=spec.priority,
        weight=spec.weight,
        dedup_days=spec.dedup_days,
        test_mode=spec.test_mode,
        timezone=timezone,
        delivery=spec.delivery,
        return_window_days=spec.return_window_days,
    )


def _floor(
    spec: Decimal | FloorSpec | None, path: str, issues: Issues
) -> tuple[Decimal | None, bool]:
    """The floor and whether a bid must be strictly above it (``{gt: …}``)."""
    if not isinstance(spec, FloorSpec):
        return spec, False
    if (spec.gt is None) == (spec.ge is None):
        issues.add(path, "exactly one of gt and ge")
        return None, False
    return (spec.gt, True) if spec.gt is not None else (spec.ge, False)


def _pricing(spec: PricingSpec, path: str, issues: Issues) -> Pricing:
    if isinstance(spec, BidPricingSpec):
        if not spec.legs:
            issues.add(f"{path}.legs", "needs exclusive, shared or both")
        for k, leg in enumerate(spec.legs):
            if spec.legs.index(leg) != k:
                issues.add(f"{path}.legs[{k}]", "duplicate leg", str(leg))
        floor, strict = _floor(spec.floor, f"{path}.floor", issues)
        if spec.max_bid is not None and spec.max_bid <= 0:
            issues.add(f"{path}.max_bid", "must be greater than 0", spec.max_bid)
        elif floor is not None and spec.max_bid is not None and floor > spec.max_bid:
            issues.add(f"{path}.floor", f"must not exceed max_bid ({spec.max_bid})", floor)
        return Pricing(
            kind=PricingKind.BID,
            legs=frozenset(spec.legs),
            floor=floor,
            max_bid=spec.max_bid,
            floor_strict=strict,
        )
    if spec.exclusive is None and spec.shared is None:
        issues.add(path, "a fixed price needs an exclusive price, a shared price or both")
    for leg_name, price in (("exclusive", spec.exclusive), ("shared", spec.shared)):
        if price is not None and price <= 0:
            issues.add(f"{path}.{leg_name}", "must be greater than 0", price)
    return Pricing(kind=PricingKind.FIXED, exclusive=spec.exclusive, shared=spec.shared)


def _caps(specs: Sequence[CapSpec], path: str, issues: Issues) -> tuple[Cap, ...]:
    caps: list[Cap] = []
    seen: set[tuple[CapKind, str]] = set()
    for k, spec in enumerate(specs):
        cpath = f"{path}[{k}]"
        key = (spec.kind, str(spec.window))
        if key in seen:
            issues.add(cpath, f"duplicate {spec.kind} cap per {spec.window}")
            continue
        seen.add(key)
        limit = spec.limit
        if limit <= 0:
            issues.add(f"{cpath}.limit", "must be greater than 0", limit)
            continue
        if spec.kind is CapKind.COUNT:
            if limit != limit.to_integral_value():
                issues.add(f"{cpath}.limit", "a count cap needs a whole number", limit)
                continue
            caps.append(Cap(spec.kind, spec.window, int(limit)))
        else:
            try:
                cents = to_cents(parse_money(limit))
            except ValueError as exc:
                issues.add(f"{cpath}.limit", f"a spend cap needs an amount of money: {exc}", limit)
                continue
            caps.append(Cap(spec.kind, spec.window, cents))
    return tuple(caps)


def _schedule(spec: ScheduleSpec, zone: str, path: str, issues: Issues) -> Schedule:
    if spec.timezone is not None:
        _check_timezone(spec.timezone, f"{path}.timezone", issues)
    intervals: list[WeeklyInterval] = []
    for weekday, day in enumerate(_WEEKDAYS):
        ranges: list[str] | None = getattr(spec.hours, day)
        key = day
        if ranges is None:
            ranges, key = spec.hours.daily, "daily"
        for k, text in enumerate(ranges or ()):
            try:
                start, end = parse_hhmm_range(text)
            except ValueError as exc:
                issues.add(f"{path}.hours.{key}[{k}]", str(exc))
                continue
            intervals.append(WeeklyInterval(weekday, start, end))
    return Schedule(timezone=zone, intervals=tuple(intervals), closed_dates=frozenset(spec.closed))


def _check_timezone(name: str, path: str, issues: Issues) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        issues.add(path, "unknown time zone (use an IANA name such as America/New_York)", name)
