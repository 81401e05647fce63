"""The YAML shape of a buyer and its orders (``buyers[]``, ``buyers[].orders[]``): budget
and caps, account, pricing and floors, filters and geography, schedules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_serializer, model_validator

from pingtree.config.spec_types import (
    JsonValue,
    Money,
    Name,
    Ref,
    ReturnRuleSpec,
    Slug,
    Spec,
    number_in,
    number_out,
)
from pingtree.domain.filter_rules import FilterOp
from pingtree.domain.money import format_money
from pingtree.domain.orders import CapKind, CapWindow, Leg, OrderStatus
from pingtree.domain.parties import AccountKind

__all__ = [
    "AccountSpec",
    "BidPricingSpec",
    "BuyerSpec",
    "CapSpec",
    "ConditionSpec",
    "FilterGroupSpec",
    "FixedPricingSpec",
    "FloorSpec",
    "GeoSpec",
    "HoursSpec",
    "OrderSpec",
    "PricingSpec",
    "ScheduleSpec",
]


class CapSpec(Spec):
    kind: CapKind
    window: CapWindow
    #: a count, or an amount of money for ``spend``
    limit: Annotated[Decimal, BeforeValidator(number_in)]

    @field_serializer("limit", when_used="json")
    def _limit_out(self, limit: Decimal) -> int | str:
        if self.kind is CapKind.SPEND:
            try:
                return format_money(limit)
            except ValueError:  # not whole cents: compile reports it; keep the value exact
                pass
        return number_out(limit)


class FixedPricingSpec(Spec):
    type: Literal["fixed"]
    exclusive: Money | None = None
    shared: Money | None = None


class FloorSpec(Spec):
    """A floor with its comparison: ``{gt: "10"}`` (a bid must be over 10) or ``{ge: …}``
    (at least; the same as ``floor: "10"``)."""

    gt: Money | None = None
    ge: Money | None = None


class BidPricingSpec(Spec):
    type: Literal["bid"]
    legs: list[Leg] = [Leg.EXCLUSIVE]
    #: a bid at least this (``floor: "10"``), or ``{gt: "10"}`` / ``{ge: "10"}``
    floor: Money | FloorSpec | None = None
    max_bid: Money | None = None


PricingSpec = Annotated[FixedPricingSpec | BidPricingSpec, Field(discriminator="type")]


class ConditionSpec(Spec):
    field: Ref
    op: FilterOp
    value: JsonValue = None


def _filter_item_kind(raw: object) -> str | None:
    if isinstance(raw, dict):
        return "group" if ("all" in raw or "any" in raw) else "condition"
    if isinstance(raw, ConditionSpec):
        return "condition"
    if isinstance(raw, FilterGroupSpec):
        return "group"
    return None


FilterItem = Annotated[
    Annotated[ConditionSpec, Tag("condition")] | Annotated["FilterGroupSpec", Tag("group")],
    Discriminator(
        _filter_item_kind,
        custom_error_type="filter_item",
        custom_error_message="expected a condition {field, op, value} or a group {all|any: [...]}",
    ),
]


class FilterGroupSpec(Spec):
    """``{all: [...]}`` or ``{any: [...]}`` of conditions and nested groups (exactly one key)."""

    all: list[FilterItem] | None = None
    any: list[FilterItem] | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> FilterGroupSpec:
        if (self.all is None) == (self.any is None):
            raise ValueError("a filter group has exactly one of 'all' or 'any'")
        return self


class GeoSpec(Spec):
    """Sugar compiled into filter conditions, ANDed with the order's filters."""

    states: list[str] = []
    zips: list[str] = []
    zip_prefixes: list[str] = []


class HoursSpec(Spec):
    """Weekly opening hours: ``"09:00-17:00"`` ranges per day; a day not listed is closed.

    ``daily`` applies to every day that is not listed by name.
    """

    daily: list[str] | None = None
    mon: list[str] | None = None
    tue: list[str] | None = None
    wed: list[str] | None = None
    thu: list[str] | None = None
    fri: list[str] | None = None
    sat: list[str] | None = None
    sun: list[str] | None = None


class ScheduleSpec(Spec):
    #: default: the order's time zone, else the buyer's
    timezone: Ref | None = None
    hours: HoursSpec = HoursSpec()
    closed: list[dt.date] = []


class OrderSpec(Spec):
    id: Slug
    name: Name = ""
    vertical: Ref
    status: OrderStatus = OrderStatus.ACTIVE
    pricing: PricingSpec
    priority: int = 100
    weight: int = 1
    filters: FilterGroupSpec | None = None
    geo: GeoSpec | None = None
    caps: list[CapSpec] = []
    schedule: ScheduleSpec | None = None
    dedup_days: int = 0
    test_mode: bool = False
    #: for cap windows; default: the schedule's time zone, else the buyer's
    timezone: Ref | None = None
    #: free-form for now; ``None`` means the buyer collects in the portal/API
    delivery: dict[str, JsonValue] | None = None
    #: the buyer may ask to return a lead for this many days after the sale (0: never)
    return_window_days: int = Field(default=0, ge=0, le=366)


class AccountSpec(Spec):
    #: ``prepaid``: sales must fit the balance; ``credit``: the balance may go down to
    #: minus ``credit_limit``
    kind: AccountKind
    credit_limit: Money = Decimal("0.00")


class BuyerSpec(Spec):
    id: Slug
    name: Name = ""
    active: bool = True
    timezone: Ref = "UTC"
    #: caps over all the buyer's orders
    budget: list[CapSpec] = []
    #: checked at every sale; none: the buyer's balance is not checked
    account: AccountSpec | None = None
    #: pause or demote the buyer while its return rate is over a limit
    return_rule: ReturnRuleSpec | None = None
    orders: list[OrderSpec] = []
