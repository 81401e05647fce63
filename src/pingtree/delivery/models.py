"""The YAML shape of an order's ``delivery:`` as pydantic models (``extra="forbid"``).

Shapes only: types, enums, unknown keys, ``{secret: NAME}`` references. The meaning is
checked by :func:`pingtree.delivery.spec.compile_delivery`, which documents the keys.
Every key of a step is optional here so that ``same_as`` and ``preset`` can fill it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PlainValidator, Tag

from pingtree.delivery.compiled import SecretRef
from pingtree.delivery.values import WireValue

__all__ = [
    "TOKEN",
    "AuthSpec",
    "BodySpec",
    "ChainStepSpec",
    "DeliverySpec",
    "DocumentFieldSpec",
    "FieldMapSpec",
    "ResponseSpec",
    "RuleOrRules",
    "RuleSpec",
    "Scalar",
    "Secretable",
    "StaticValue",
    "StepSpec",
    "TestMarkerSpec",
]

#: the buyer's token from its ping answer, usable in a post step
TOKEN = "token"

_SECRET_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


# --- scalar types --------------------------------------------------------------------------


def _secret_ref(raw: object) -> SecretRef | None:
    if isinstance(raw, Mapping) and set(raw) == {"secret"}:
        name = raw["secret"]
        if isinstance(name, str) and _SECRET_NAME.fullmatch(name):
            return SecretRef(name)
        raise ValueError("a secret name is letters, digits, '_', '.', '-' (at most 64)")
    return None


def _secretable(raw: object) -> str | SecretRef:
    if isinstance(raw, str):
        return raw
    ref = _secret_ref(raw)
    if ref is None:
        raise ValueError("must be a string or {secret: NAME}")
    return ref


def _scalar(raw: object) -> WireValue:
    if isinstance(raw, str | bool | int | Decimal):
        return raw
    if isinstance(raw, float):
        value = Decimal(str(raw))
        if value.is_finite():
            return value
    raise ValueError("must be a string, a number or a boolean")


def _static(raw: object) -> WireValue | SecretRef:
    ref = _secret_ref(raw)
    return ref if ref is not None else _scalar(raw)


_SCALAR_SCHEMA: Any = str | int | float | bool
_SECRET_SCHEMA: Any = str | dict[str, str]

#: a string, or ``{secret: NAME}``
Secretable: TypeAlias = Annotated[
    str | SecretRef, PlainValidator(_secretable, json_schema_input_type=_SECRET_SCHEMA)
]
#: a string, number (a float is read as ``Decimal(str(x))``) or boolean
Scalar: TypeAlias = Annotated[
    WireValue, PlainValidator(_scalar, json_schema_input_type=_SCALAR_SCHEMA)
]
StaticValue: TypeAlias = Annotated[
    WireValue | SecretRef,
    PlainValidator(_static, json_schema_input_type=_SCALAR_SCHEMA | dict[str, str]),
]


# --- the models ----------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthSpec(_Spec):
    """``none``; ``basic`` {username, password}; ``bearer`` {token}; ``header`` {name,
    value}; ``query`` {name, value}. Values may be ``{secret: NAME}`` (not ``name``)."""

    type: Literal["none", "basic", "bearer", "header", "query"]
    username: Secretable | None = None
    password: Secretable | None = None
    token: Secretable | None = None
    name: str | None = None
    value: Secretable | None = None


class FieldMapSpec(_Spec):
    """One body entry: ``from`` a lead field (or ``token``) or a static ``value``, ``to``
    the buyer's name; then ``map`` (keyed by our value's text), ``format`` (a phone
    format or a date pattern) and ``as`` (the buyer's type), in that order. ``default``
    is sent as written when the lead lacks the field; without it the entry is left out."""

    from_: str | None = Field(default=None, alias="from")
    value: StaticValue | None = None
    to: str
    map: dict[str, Scalar] | None = None
    as_: Literal["string", "integer", "decimal", "boolean", "yn", "yes_no", "one_zero"] | None = (
        Field(default=None, alias="as")
    )
    format: str | None = None
    default: Scalar | None = None


class DocumentFieldSpec(_Spec):
    """A form or query field ``to`` carrying a whole document (XML or JSON) built from
    ``fields`` (or, for XML, a ``template``): each layer escaped by its own encoder."""

    to: str
    document: Literal["xml", "json"] = "xml"
    fields: list[FieldMapSpec] | None = None
    template: str | None = None
    #: XML built from fields: the root element
    root: str | None = None


class BodySpec(_Spec):
    fields: list[FieldMapSpec] | None = None
    template: str | None = None
    form_field: str | None = None
    document: Literal["xml", "json", "text"] | None = None
    root: str | None = None
    #: form and query bodies: more fields, each holding a rendered document
    documents: list[DocumentFieldSpec] | None = None


class RuleSpec(_Spec):
    """Reads by exactly one of ``json``, ``xpath``, ``regex``, ``status``, ``header``;
    tests with ``equals`` (case-insensitive), ``matches`` (RE2), ``present`` and the
    number comparisons ``gt``, ``ge``, ``lt``, ``le``."""

    json_: str | None = Field(default=None, alias="json")
    xpath: str | None = None
    regex: str | None = None
    status: list[int] | None = None
    header: str | None = None
    equals: list[Scalar] | None = None
    matches: str | None = None
    present: bool | None = None
    gt: Scalar | None = None
    ge: Scalar | None = None
    lt: Scalar | None = None
    le: Scalar | None = None


def _one_or_many(raw: object) -> str:
    return "rules" if isinstance(raw, list) else "rule"


#: one rule, or a list of which any may hold
RuleOrRules: TypeAlias = Annotated[
    Annotated[RuleSpec, Tag("rule")] | Annotated[list[RuleSpec], Tag("rules")],
    Discriminator(_one_or_many),
]


class ResponseSpec(_Spec):
    accepted: RuleOrRules | None = None
    rejected: RuleOrRules | None = None
    bid: RuleSpec | None = None
    #: a multi-leg bidder's price for each leg (``bid``, when also given, prices the others)
    bid_exclusive: RuleSpec | None = None
    bid_shared: RuleSpec | None = None
    token: RuleSpec | None = None
    redirect_url: RuleSpec | None = None
    reason: RuleSpec | None = None


class TestMarkerSpec(_Spec):
    """How a test request says it is a test: a ``header`` or a body ``field`` (exactly
    one) carrying ``value``. Sent only by a test of the buyer (``pingtree test-buyer``,
    "Test this buyer"), never with a real lead."""

    header: str | None = None
    field: str | None = None
    value: Scalar = "1"


class StepSpec(_Spec):
    """One HTTP step. Every key is optional here so that ``same_as`` can fill it in;
    :func:`compile_delivery` requires ``url`` of the resolved step."""

    same_as: str | None = None
    preset: str | None = None
    url: str | None = None
    method: Literal["GET", "POST", "PUT"] | None = None
    headers: dict[str, Secretable] | None = None
    auth: AuthSpec | None = None
    content_type: Literal["json", "xml", "form", "query", "text"] | None = None
    timeout_ms: int | None = Field(default=None, ge=1, le=120_000)
    #: a post: re-sends after a connect failure or 429/502/503; a ping: after a connect
    #: failure only (nothing reached the buyer), within the ping's deadline
    retries: int | None = Field(default=None, ge=0, le=5)
    #: post only: what follows a post whose outcome is unknown (timeout after sending, a 5xx
    #: other than 502/503): ``hold`` for an operator, or ``retry`` with the same
    #: ``Idempotency-Key`` (for buyers that dedupe on it)
    on_unknown: Literal["hold", "retry"] | None = None
    vars: dict[str, Secretable] | None = None
    body: BodySpec | None = None
    response: ResponseSpec | None = None
    #: what marks a test request (``test-buyer``) as a test, where the buyer allows one
    test_marker: TestMarkerSpec | None = None


class BreakerSpec(_Spec):
    #: consecutive failed pings (errors, not timeouts) that open the breaker
    failures: int = Field(default=10, ge=1, le=1000)
    #: how long the open breaker skips the order before one probe ping
    cooldown_seconds: float = Field(default=30.0, gt=0, le=3600)


class LimitsSpec(_Spec):
    """Protection of the buyer's ping endpoint: beyond a limit, a ping is ``throttled``."""

    max_concurrent: int | None = Field(default=None, ge=1, le=100_000)
    per_second: float | None = Field(default=None, gt=0, le=100_000)
    breaker: BreakerSpec = BreakerSpec()


class ChainStepSpec(StepSpec):
    """A step after a sold lead's post (a CRM webhook, a notice by mail): posted the full
    lead with the buyer's token, from the outbox, retried as a post is."""

    #: the step's name in the delivery log and on the lead's page
    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    #: after this step succeeds, the next runs; ``false``: the chain ends on a success (the
    #: next steps are fallbacks). After a failure the next step always runs.
    continue_on_success: bool = True


class NoticesSpec(_Spec):
    """Win and loss notices (OpenRTB's nurl and lurl): URLs called, best effort, when the
    order wins or loses an auction it bid in; macros ``{ping_id}``, ``{price}``,
    ``{reason}`` only (never a lead's field: no PII)."""

    win: str | None = Field(default=None, max_length=2048)
    loss: str | None = Field(default=None, max_length=2048)
    timeout_ms: int = Field(default=1000, ge=50, le=10_000)


class DeliverySpec(_Spec):
    ping: StepSpec | None = None
    post: StepSpec | None = None
    #: win and loss notices of a live bid order (``delivery.notices``)
    notices: NoticesSpec | None = None
    #: steps after the post, in order, run once the lead is sold
    chain: list[ChainStepSpec] = Field(default=[], max_length=10)
    limits: LimitsSpec = LimitsSpec()
