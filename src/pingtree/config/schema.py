"""The YAML form of the configuration: pydantic models of its shape (DESIGN §8.4).

These models check shapes only (types, enums, unknown keys, money syntax) and give every
entity its stable slug ``id``. Cross-references, filters, schedules, time zones and ranges
are checked by :func:`pingtree.config.compile.compile_config`, which reports every issue
with its YAML path.

Canonical form: :func:`canonical` dumps a model as the JSON-able mapping that is stored and
exported: keys in declaration order, defaults left out, money as ``"25.00"`` strings,
other numbers as integers when whole (else exact decimal strings), dates as ISO strings.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StringConstraints,
    Tag,
    field_serializer,
    model_validator,
)

from pingtree.config.form_spec import FormSpec
from pingtree.domain.consent import Evidence
from pingtree.domain.model import (
    AccountKind,
    CapKind,
    CapWindow,
    FieldType,
    FilterOp,
    Leg,
    OrderStatus,
    RankBy,
    RepeatAnswer,
    Requirement,
    ReturnRuleAction,
)
from pingtree.domain.money import format_money, parse_money
from pingtree.domain.quality_steps import OnError, OnFail, StepKind

__all__ = [
    "MAX_NAME",
    "MAX_REF",
    "MAX_TEXT",
    "SLUG_PATTERN",
    "BidPricingSpec",
    "BuyerSpec",
    "CampaignSpec",
    "CapSpec",
    "ConditionSpec",
    "ConfigDocument",
    "DispositionCodeSpec",
    "FieldSpecModel",
    "FilterGroupSpec",
    "FixedPayoutSpec",
    "FixedPricingSpec",
    "FloorSpec",
    "GeoSpec",
    "InboundAnswerSpec",
    "InboundProfileSpec",
    "OrderSpec",
    "PingOptionsSpec",
    "RevenueSharePayoutSpec",
    "ScheduleSpec",
    "SupplierSpec",
    "VerticalSpec",
    "canonical",
]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


# --- scalar types ----------------------------------------------------------------------------


def _number_in(raw: object) -> Decimal:
    """A finite number written as an integer, a float or a string (``"12.5"``)."""
    if isinstance(raw, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float | str):
        # a float goes through its shortest repr so 0.1 stays 0.1
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("must be a number") from None
    else:
        raise ValueError("must be a number")
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _number_out(value: Decimal) -> int | str:
    """Whole numbers as YAML integers; the others as exact strings (no float rounding)."""
    if value == value.to_integral_value():
        return int(value)
    return format(value.normalize(), "f")


def _money_in(raw: object) -> Decimal:
    return parse_money(raw)


def _money_out(value: Decimal) -> str:
    return format_money(value)


def _json_value_in(raw: object) -> object:
    """Free-form values (filter values, delivery specs) must survive a JSON column."""
    if isinstance(raw, dt.datetime | dt.date | dt.time):
        # YAML reads an unquoted 2026-12-25 as a date: keep its text
        return raw.isoformat()
    if raw is None or isinstance(raw, str | bool | int):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError("must be a finite number")
        return raw
    if isinstance(raw, list | tuple):
        return [_json_value_in(item) for item in raw]
    if isinstance(raw, dict):
        out: dict[str, object] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                raise ValueError(f"mapping keys must be strings, not {key!r}")
            out[key] = _json_value_in(value)
        return out
    raise ValueError(f"unsupported value of type {type(raw).__name__}")


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
#: the longest name or label: pages show them whole (issue 13: unlimited names broke them)
MAX_NAME = 100
#: the longest reference to an id, a time zone name or a field name
MAX_REF = 64
#: the longest URL or free text value of a list (enum values, filter fields)
MAX_TEXT = 2048
#: a display name: a vertical's, a supplier's, a campaign's, a buyer's, an order's
Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
#: a field's label or an enum field's allowed value
Label = Annotated[str, StringConstraints(max_length=MAX_NAME)]
#: a vertical id, a field name or a time zone named by another entity
Ref = Annotated[str, StringConstraints(max_length=MAX_REF)]
FieldName = Annotated[str, StringConstraints(pattern=_FIELD_NAME_PATTERN)]
Number = Annotated[
    Decimal,
    BeforeValidator(_number_in),
    PlainSerializer(_number_out, when_used="json"),
]
Money = Annotated[
    Decimal,
    BeforeValidator(_money_in),
    PlainSerializer(_money_out, when_used="json"),
]
JsonValue = Annotated[Any, BeforeValidator(_json_value_in)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Mode = Literal["ping_post", "direct_post"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- verticals --------------------------------------------------------------------------------


class FieldSpecModel(_Spec):
    name: FieldName
    type: FieldType
    label: Label = ""
    pii: bool = False
    ping: Requirement = Requirement.OPTIONAL
    post: Requirement = Requirement.OPTIONAL
    #: allowed values of an ``enum`` field
    values: list[Label] = []
    #: bounds of an ``integer`` or ``decimal`` field
    min: Number | None = None
    max: Number | None = None
    max_length: int = 255
    #: reports may group leads by this field's value (refused for a PII field)
    report_dimension: bool = False


class ReturnReasonSpec(_Spec):
    code: Slug
    label: Label = ""
    #: a request with this reason is approved at once
    auto_approve: bool = False


class DispositionCodeSpec(_Spec):
    """A code a buyer may report of a lead (``domain.dispositions``)."""

    code: Slug
    label: Label = ""
    contacted: bool = False
    #: a converted lead counts as contacted too
    converted: bool = False


class ConsentTextSpec(_Spec):
    """One version of a campaign's consent text (``domain.consent``)."""

    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]
    text: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    #: a consent given under this text from this time on is stale (with its offset)
    retired_at: dt.datetime | None = None


class ConsentSpec(_Spec):
    """What a campaign requires of a lead's consent (``domain.consent``)."""

    #: the versions of its consent text, the current one last; none: any text
    texts: list[ConsentTextSpec] = []
    #: how old a consent (``consent_at``) may be when the lead arrives
    max_age_minutes: int = Field(default=1440, ge=1, le=366 * 24 * 60)
    #: the evidence a lead must carry
    require: list[Evidence] = list(Evidence)
    #: a stale or mismatched consent: reject the lead, or flag it (``consent.valid``)
    on_fail: OnFail = OnFail.REJECT


class QualityStepSpec(_Spec):
    """A quality step before the auction (``domain.quality_steps``)."""

    type: StepKind
    #: the lead field it reads (phone: ``phone``, email: ``email``; suppression: every
    #: phone and email field)
    field: Ref | None = None
    on_fail: OnFail = OnFail.REJECT
    #: phone: the region a number without ``+`` and a country code is read in
    region: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"
    #: suppression: the lists it checks
    lists: list[Slug] = []
    #: http: the step's name, its results' prefix (``trustedform`` → ``trustedform.verified``);
    #: a preset's step is named after it
    name: Slug | None = None
    #: http: a preset of ``delivery.check_presets`` the step extends
    preset: Slug | None = None
    #: http: what a service that gives no usable answer does; none: as ``on_fail``
    on_error: OnError | None = None
    #: http: the call, its inputs and named results (``delivery.checks`` checks them)
    request: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    results: dict[str, Any] | None = None
    error_when: Any = None


class VerticalSpec(_Spec):
    id: Slug
    name: Name = ""
    fields: list[FieldSpecModel] = []
    #: what a buyer may report became of a lead; empty: the default codes
    dispositions: list[DispositionCodeSpec] = []
    #: why a buyer may return a lead of this vertical; empty: the default list
    return_reasons: list[ReturnReasonSpec] = []
    #: quality steps before the auction of its campaigns that name none of their own
    steps: list[QualityStepSpec] = []


# --- suppliers and campaigns ------------------------------------------------------------------


class RevenueSharePayoutSpec(_Spec):
    model: Literal["revenue_share"]
    #: the seller's share of the realized revenue, in percent
    percent: Number


class FixedPayoutSpec(_Spec):
    model: Literal["fixed"]
    amount: Money


PayoutSpec = Annotated[RevenueSharePayoutSpec | FixedPayoutSpec, Field(discriminator="model")]


class PingOptionsSpec(_Spec):
    min_revenue: Money = Decimal("0.00")
    min_profit: Money = Decimal("0.00")
    min_profit_percent: Number | None = None
    min_buyers: int = 1
    required_fields: list[Ref] = []
    qualify_all_criteria: bool = False


#: a rate limit's number of requests: at least 1 (no limit: leave it out)
_Limit = Annotated[int, Field(ge=1, le=1_000_000)]


class RateLimitSpec(_Spec):
    """Requests per second, per minute, and in flight at once (``domain.rate_limits``)."""

    per_second: _Limit | None = None
    per_minute: _Limit | None = None
    concurrent: _Limit | None = None


#: a campaign key's id: the hexadecimal part after ``pt_`` of ``pt_<id>_<secret>``
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


class RateLimitsSpec(RateLimitSpec):
    """A campaign's limits: all its keys together, ``per_key`` each key on its own, and
    ``keys`` a key's own limits by its id (in place of ``per_key``)."""

    per_key: RateLimitSpec = RateLimitSpec()
    keys: dict[KeyId, RateLimitSpec] = {}


class PingDedupSpec(_Spec):
    """The duplicate-ping cache (``domain.ping_dedup``)."""

    window_seconds: int = Field(default=300, ge=1, le=30 * 86_400)
    on_repeat: RepeatAnswer = RepeatAnswer.FIRST_ANSWER
    #: the ping fields that tell consumers apart; empty: the vertical's own non-PII ones
    fields: list[Ref] = []


#: a seller's own name for a field, a control name or an answer key (``Lead.Zip``, ``lp_key``)
TheirName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_REF, pattern=r"^[^\x00-\x1f\x7f]+$")
]
#: a value of a value map: what the seller's spelling stands for
MappedValue = str | bool | int


class InboundAnswerSpec(_Spec):
    """How a profile's answers read: JSON keys or XML elements, and the status words."""

    #: default: ``xml`` for an ``xml`` profile, else ``json``
    format: Literal["json", "xml"] | None = None
    #: the root element of an XML answer
    root: TheirName = "response"
    #: our answer key (``status``, ``ping_id``, ``bid``, ``price``, ``reasons``…) → theirs
    names: dict[str, TheirName] = {}
    #: our status (``accepted``, ``sold``, ``pending``, ``rejected``, ``error``) → theirs
    statuses: dict[str, TheirName] = {}


class InboundProfileSpec(_Spec):
    """A seller's own format (``domain.inbound``): called at
    ``/api/v1/in/{campaign}/{id}/ping`` (and ``/post``, ``/leads``)."""

    id: Slug
    #: ``json``: our envelope, the fields by the seller's names
    format: Literal["json", "flat_json", "form", "query", "xml"]
    #: the seller's name → the vertical's field (or ``ping_id``, ``test``, ``api_key``,
    #: ``tmax_ms``)
    aliases: dict[TheirName, Ref] = {}
    #: per field of ours: the seller's value → ours (``{homeowner: {Y: true, N: false}}``)
    values: dict[Ref, dict[TheirName, MappedValue]] = {}
    #: names the seller sends that are not lead data
    ignore: list[TheirName] = []
    #: an ``xml`` profile's request root element; default: any
    xml_root: TheirName | None = None
    answer: InboundAnswerSpec = InboundAnswerSpec()


class CampaignSpec(_Spec):
    id: Slug
    name: Name = ""
    vertical: Ref
    modes: list[Mode] = ["ping_post"]
    payout: PayoutSpec
    max_sells: int = 1
    rank_by: RankBy = RankBy.PRICE
    ping_ttl_seconds: int = 300
    ping_deadline_ms: int = 1000
    wait_for_delivery: bool = True
    post_deadline_ms: int = Field(default=15_000, ge=100, le=120_000)
    #: the conversion postback: a URL template with macros ({click_id}, {sub_id},
    #: {payout}, {status}…: ``domain.postbacks``) sent on the lead's final answer and on an
    #: approved return
    postback_url: (
        Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=MAX_TEXT)] | None
    ) = None
    #: ``GET``: the URL alone; ``POST``: with the lead's answer as JSON
    postback_method: Literal["GET", "POST"] = "GET"
    test_mode: bool = False
    active: bool = True
    inbound_dedup_days: int = 0
    #: an approved return charges the supplier's payout back
    charge_back_returns: bool = True
    ping_options: PingOptionsSpec = PingOptionsSpec()
    #: the sellers' own formats (besides our JSON envelope), each at its own URL
    inbound: list[InboundProfileSpec] = []
    #: quality steps before the auction, in order; none given: the vertical's
    steps: list[QualityStepSpec] | None = None
    #: consent as evidence, checked before its steps; none: not required
    consent: ConsentSpec | None = None
    #: 429 past these (``domain.rate_limits``)
    rate_limits: RateLimitsSpec = RateLimitsSpec()
    #: a repeated ping's answer (``domain.ping_dedup``); none: every ping is auctioned
    ping_dedup: PingDedupSpec | None = None
    #: hosted lead-capture forms, each at ``/f/{id}`` (``config.form_spec``)
    forms: list[FormSpec] = []


class ReturnRuleSpec(_Spec):
    #: the return rate, in percent, above which the rule acts
    max_rate: Number
    #: no verdict before this many sales in the window
    min_sales: int = Field(default=20, ge=1)
    days: int = Field(default=30, ge=1, le=366)
    action: ReturnRuleAction = ReturnRuleAction.PAUSE
    #: ``demote``: added to each of the buyer's orders' priority number
    demote_by: int = Field(default=100, ge=1)


class SupplierSpec(_Spec):
    id: Slug
    name: Name = ""
    active: bool = True
    #: pause the supplier's campaigns while its return rate is over a limit
    return_rule: ReturnRuleSpec | None = None
    campaigns: list[CampaignSpec] = []


# --- buyers and orders ------------------------------------------------------------------------


class CapSpec(_Spec):
    kind: CapKind
    window: CapWindow
    #: a count, or an amount of money for ``spend``
    limit: Annotated[Decimal, BeforeValidator(_number_in)]

    @field_serializer("limit", when_used="json")
    def _limit_out(self, limit: Decimal) -> int | str:
        if self.kind is CapKind.SPEND:
            try:
                return format_money(limit)
            except ValueError:  # not whole cents: compile reports it; keep the value exact
                pass
        return _number_out(limit)


class FixedPricingSpec(_Spec):
    type: Literal["fixed"]
    exclusive: Money | None = None
    shared: Money | None = None


class FloorSpec(_Spec):
    """A floor with its comparison: ``{gt: "10"}`` (a bid must be over 10) or ``{ge: …}``
    (at least; the same as ``floor: "10"``)."""

    gt: Money | None = None
    ge: Money | None = None


class BidPricingSpec(_Spec):
    type: Literal["bid"]
    legs: list[Leg] = [Leg.EXCLUSIVE]
    #: a bid at least this (``floor: "10"``), or ``{gt: "10"}`` / ``{ge: "10"}``
    floor: Money | FloorSpec | None = None
    max_bid: Money | None = None


PricingSpec = Annotated[FixedPricingSpec | BidPricingSpec, Field(discriminator="type")]


class ConditionSpec(_Spec):
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


class FilterGroupSpec(_Spec):
    """``{all: [...]}`` or ``{any: [...]}`` of conditions and nested groups (exactly one key)."""

    all: list[FilterItem] | None = None
    any: list[FilterItem] | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> FilterGroupSpec:
        if (self.all is None) == (self.any is None):
            raise ValueError("a filter group has exactly one of 'all' or 'any'")
        return self


class GeoSpec(_Spec):
    """Sugar compiled into filter conditions, ANDed with the order's filters."""

    states: list[str] = []
    zips: list[str] = []
    zip_prefixes: list[str] = []


class HoursSpec(_Spec):
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


class ScheduleSpec(_Spec):
    #: default: the order's time zone, else the buyer's
    timezone: Ref | None = None
    hours: HoursSpec = HoursSpec()
    closed: list[dt.date] = []


class OrderSpec(_Spec):
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


class AccountSpec(_Spec):
    #: ``prepaid``: sales must fit the balance; ``credit``: the balance may go down to
    #: minus ``credit_limit``
    kind: AccountKind
    credit_limit: Money = Decimal("0.00")


class BuyerSpec(_Spec):
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


# --- the document -----------------------------------------------------------------------------


class ConfigDocument(_Spec):
    verticals: list[VerticalSpec] = []
    suppliers: list[SupplierSpec] = []
    buyers: list[BuyerSpec] = []


def canonical(spec: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """The stored and exported mapping of ``spec``: JSON-able, defaults left out."""
    return spec.model_dump(mode="json", exclude_defaults=True, exclude=exclude)
