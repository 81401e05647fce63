"""The configuration as the domain sees it: frozen, validated, compiled.

These are the words of DESIGN.md §1. The YAML form (``pingtree.config``) is parsed and
checked there, then compiled into these dataclasses once per configuration snapshot; the
hot path only ever reads them.

Money is ``Decimal`` (quantized to the cent). Cap limits are integers in the cap's unit:
a count, or cents for spend caps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from pingtree.domain.dispositions import DEFAULT_DISPOSITIONS, DispositionCode
from pingtree.domain.inbound import InboundProfile
from pingtree.domain.quality_steps import QualityStep
from pingtree.domain.rate_limits import RateLimits

if TYPE_CHECKING:  # forms are built of the vertical's fields: they import this module
    from pingtree.domain.forms import HostedForm

__all__ = [
    "DEFAULT_RETURN_REASONS",
    "Account",
    "AccountKind",
    "Buyer",
    "Campaign",
    "Cap",
    "CapKind",
    "CapWindow",
    "CompiledFilter",
    "Condition",
    "FieldGate",
    "FieldSpec",
    "FieldType",
    "FilterGroup",
    "FilterOp",
    "FilterVerdict",
    "LeadValue",
    "Leg",
    "Order",
    "OrderStatus",
    "PayoutModel",
    "PingDedup",
    "PingOptions",
    "Pricing",
    "PricingKind",
    "RankBy",
    "RepeatAnswer",
    "Requirement",
    "ReturnReason",
    "ReturnRule",
    "ReturnRuleAction",
    "Schedule",
    "Supplier",
    "Vertical",
    "WeeklyInterval",
]

#: A normalized field value. Dates are ``datetime.date``; money and decimals ``Decimal``.
LeadValue = str | int | Decimal | bool | dt.date


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    ENUM = "enum"
    EMAIL = "email"
    PHONE = "phone"
    ZIP = "zip"
    STATE = "state"
    IP = "ip"
    URL = "url"


class Requirement(StrEnum):
    """Whether a field must, may or must not appear at one stage (ping or post)."""

    REQUIRED = "required"
    OPTIONAL = "optional"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    pii: bool = False
    ping: Requirement = Requirement.OPTIONAL
    post: Requirement = Requirement.OPTIONAL
    label: str = ""
    #: allowed values of an ``enum`` field (compared after trimming, case-insensitively;
    #: normalized to the spelling given here)
    values: tuple[str, ...] = ()
    #: bounds for ``integer`` and ``decimal`` fields
    min: Decimal | None = None
    max: Decimal | None = None
    #: longest accepted text after normalization (strings, urls…)
    max_length: int = 255
    #: reports may group leads by this field's value (never a PII field)
    report_dimension: bool = False


@dataclass(frozen=True, slots=True)
class ReturnReason:
    """Why a buyer may return a lead; ``auto_approve`` approves the request at once."""

    code: str
    label: str
    auto_approve: bool = False


#: a vertical's return reasons unless it names its own
DEFAULT_RETURN_REASONS: tuple[ReturnReason, ...] = (
    ReturnReason("wrong_number", "Wrong or disconnected number"),
    ReturnReason("duplicate", "Duplicate of a lead already bought"),
    ReturnReason("no_consent", "The consumer did not ask to be contacted"),
    ReturnReason("fake", "Fake or fraudulent information"),
    ReturnReason("out_of_area", "Outside the area the order buys"),
    ReturnReason("other", "Other (say why in the comment)"),
)


@dataclass(frozen=True, slots=True)
class Vertical:
    id: str
    name: str
    #: the vertical's own fields followed by the tracking fields every vertical inherits
    fields: tuple[FieldSpec, ...]
    #: what a buyer may report became of a lead (``domain.dispositions``)
    dispositions: tuple[DispositionCode, ...] = DEFAULT_DISPOSITIONS
    return_reasons: tuple[ReturnReason, ...] = DEFAULT_RETURN_REASONS
    #: the quality steps of its campaigns that name none of their own
    steps: tuple[QualityStep, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None


# --- filters ---------------------------------------------------------------------------


class FilterOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    REGEX = "regex"
    EXISTS = "exists"


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: FilterOp
    #: ``in``/``not_in``/``starts_with`` may take a tuple; ``between`` a 2-tuple;
    #: ``exists`` a bool; the others one value. Values are normalized by the field's type.
    value: object


@dataclass(frozen=True, slots=True)
class FilterGroup:
    """``all`` (every item must pass) or ``any`` (one is enough) of conditions and groups."""

    mode: str  # "all" | "any"
    items: tuple[Condition | FilterGroup, ...] = ()


@dataclass(frozen=True, slots=True)
class FilterVerdict:
    passed: bool
    #: why it failed, human-readable (``"state in [CA, TX]"``); empty when passed
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FieldGate:
    """A condition a lead's field must meet for a filter to pass (``domain.filter_gates``): its
    value one of ``values``, or starting with one of ``prefixes`` (case-insensitive), or
    between ``low`` and ``high`` (each ``None`` for no bound; ``*_open`` excludes it)."""

    field: str
    values: frozenset[LeadValue] | None = None
    prefixes: frozenset[str] | None = None
    low: LeadValue | None = None
    low_open: bool = False
    high: LeadValue | None = None
    high_open: bool = False


#: A filter compiled once per snapshot. Arguments: the lead's normalized values and
#: ``qualify_all`` (a condition on an absent field fails instead of passing).
CompiledFilter = Callable[[Mapping[str, LeadValue], bool], FilterVerdict]


# --- schedules and caps -----------------------------------------------------------------


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


# --- buyers and orders --------------------------------------------------------------------


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


class AccountKind(StrEnum):
    #: the buyer pays first: a sale must fit its balance
    PREPAID = "prepaid"
    #: the buyer is invoiced: a sale must fit its credit limit
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class Account:
    """A buyer's money account (DESIGN §9): the auction skips the buyer when a price would
    take its balance below ``-credit_limit_cents`` (0 for a prepaid buyer)."""

    kind: AccountKind
    credit_limit_cents: int = 0


class ReturnRuleAction(StrEnum):
    #: take no leads until the rate is back under the limit
    PAUSE = "pause"
    #: rank after others: ``demote_by`` added to each order's priority number
    DEMOTE = "demote"


@dataclass(frozen=True, slots=True)
class ReturnRule:
    """A buyer's or a supplier's return rate over ``max_rate_percent`` (approved returns ÷
    live sales sold in the last ``days``, once there are ``min_sales``) pauses it or, for a
    buyer, lowers its rank. The trace shows it on every order it touches."""

    max_rate_percent: Decimal
    min_sales: int = 20
    days: int = 30
    action: ReturnRuleAction = ReturnRuleAction.PAUSE
    demote_by: int = 100


@dataclass(frozen=True, slots=True)
class Buyer:
    id: str
    name: str
    active: bool = True
    #: budget caps over all the buyer's orders
    caps: tuple[Cap, ...] = ()
    timezone: str = "UTC"
    #: ``None``: the buyer's balance is not checked (it is invoiced without a limit)
    account: Account | None = None
    return_rule: ReturnRule | None = None


# --- suppliers and campaigns --------------------------------------------------------------


class PayoutModel(StrEnum):
    REVENUE_SHARE = "revenue_share"
    FIXED = "fixed"


class RankBy(StrEnum):
    PRICE = "price"
    PRIORITY = "priority"


@dataclass(frozen=True, slots=True)
class PingOptions:
    min_revenue: Decimal = Decimal("0.00")
    #: no sale at a loss unless configured otherwise
    min_profit: Decimal = Decimal("0.00")
    #: profit ÷ revenue, in percent
    min_profit_percent: Decimal | None = None
    min_buyers: int = 1
    required_fields: tuple[str, ...] = ()
    qualify_all_criteria: bool = False


class RepeatAnswer(StrEnum):
    """What a repeated ping gets within its campaign's dedup window (``domain.ping_dedup``)."""

    #: the first ping's answer again: same ping id, same bid (no buyer is asked again)
    FIRST_ANSWER = "first_answer"
    #: ``rejected`` with reason ``duplicate``
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class PingDedup:
    """A campaign's duplicate-ping cache: pings with one fingerprint within
    ``window_seconds`` are one consumer's."""

    window_seconds: int
    on_repeat: RepeatAnswer = RepeatAnswer.FIRST_ANSWER
    #: the ping fields the fingerprint reads; empty: every non-PII field of the vertical's
    #: own (tracking fields left out)
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    supplier_id: str
    vertical_id: str
    name: str
    #: ``ping_post`` and/or ``direct_post``
    modes: frozenset[str]
    payout_model: PayoutModel
    #: percent of revenue for ``revenue_share``; an amount for ``fixed``
    payout_value: Decimal
    ping_options: PingOptions = field(default_factory=PingOptions)
    max_sells: int = 1
    rank_by: RankBy = RankBy.PRICE
    ping_ttl_seconds: int = 300
    ping_deadline_ms: int = 1000
    wait_for_delivery: bool = True
    #: with ``wait_for_delivery``: past this, the seller is answered ``pending``
    post_deadline_ms: int = 15_000
    #: the conversion postback: a URL template with macros (``domain.postbacks``), sent on
    #: the lead's final answer and on an approved return
    postback_url: str | None = None
    #: ``GET`` (the URL alone) or ``POST`` (the lead's answer as JSON too)
    postback_method: str = "GET"
    test_mode: bool = False
    active: bool = True
    #: reject a lead whose phone or email any supplier sold us within this many days
    inbound_dedup_days: int = 0
    #: an approved return charges the supplier's payout back
    charge_back_returns: bool = True
    #: the seller's own formats it may post in (``domain.inbound``), besides our envelope
    inbound: tuple[InboundProfile, ...] = ()
    #: quality steps before the auction, in order (its own, else its vertical's)
    steps: tuple[QualityStep, ...] = ()
    #: limits on all the campaign's keys together, and on each key (``domain.rate_limits``)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    key_rate_limits: RateLimits = field(default_factory=RateLimits)
    #: a key's own limits (by key id), in place of ``key_rate_limits``
    own_key_rate_limits: tuple[tuple[str, RateLimits], ...] = ()
    #: the duplicate-ping cache (``None``: off)
    ping_dedup: PingDedup | None = None
    #: its hosted lead-capture forms (``domain.forms``)
    forms: tuple[HostedForm, ...] = ()


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    name: str
    active: bool = True
    #: pauses the supplier's campaigns while its leads' return rate is over the limit
    return_rule: ReturnRule | None = None
