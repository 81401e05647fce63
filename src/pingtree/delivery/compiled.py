"""A delivery spec once compiled: frozen data the hot path only reads.

:func:`pingtree.delivery.spec.compile_delivery` builds these once per configuration
snapshot; :func:`pingtree.delivery.render.render` and
:func:`pingtree.delivery.read.read_answer` read them. Nothing here does any work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pingtree.delivery.placeholders import TextTemplate
from pingtree.delivery.rules import CompiledRule
from pingtree.delivery.templates import CompiledTemplate
from pingtree.delivery.values import WireValue
from pingtree.delivery.xml import XmlTarget

__all__ = [
    "CONTENT_TYPES",
    "CompiledAuth",
    "CompiledBody",
    "CompiledDelivery",
    "CompiledField",
    "CompiledLimits",
    "CompiledResponse",
    "CompiledStep",
    "ContentType",
    "SecretRef",
]


@dataclass(frozen=True, slots=True)
class SecretRef:
    """``{secret: NAME}`` in the spec: a buyer credential, resolved only when rendering."""

    name: str


@dataclass(frozen=True, slots=True)
class ContentType:
    #: the ``Content-Type`` header sent with a body (``None``: the fields go in the URL)
    mime: str | None
    #: what a body built from ``fields`` is: ``json``, ``xml``, ``pairs`` or ``text``
    document: str


#: content types a step may declare
CONTENT_TYPES: Mapping[str, ContentType] = {
    "json": ContentType("application/json", "json"),
    "xml": ContentType("application/xml", "xml"),
    "form": ContentType("application/x-www-form-urlencoded", "pairs"),
    "query": ContentType(None, "pairs"),
    "text": ContentType("text/plain; charset=utf-8", "text"),
}


@dataclass(frozen=True, slots=True)
class CompiledAuth:
    """How a request authenticates; which values are set depends on ``kind``."""

    kind: str = "none"
    username: str | SecretRef | None = None
    password: str | SecretRef | None = None
    token: str | SecretRef | None = None
    name: str | None = None
    value: str | SecretRef | None = None


@dataclass(frozen=True, slots=True)
class CompiledField:
    """One entry of a body mapping: where its value comes from and how it is written."""

    #: the ``to`` of the spec, as written
    target: str
    #: a lead field name, ``token``, or ``None`` for a static value
    source: str | None
    static: WireValue | SecretRef | None
    #: value map keyed by the value's canonical text
    value_map: Mapping[str, WireValue] | None
    #: an ``as`` kind of ``values.AS_KINDS``
    as_kind: str | None
    #: a phone format name or a date pattern
    fmt: str | None
    #: sent as written when the source is absent
    default: WireValue | None
    #: JSON: the nested keys; pairs: the one key
    keys: tuple[str, ...]
    #: XML: the elements below the root and an optional attribute
    xml_target: XmlTarget | None


@dataclass(frozen=True, slots=True)
class CompiledBody:
    #: ``json``, ``xml``, ``text`` (template only) or ``pairs`` (form or query string)
    document: str
    fields: tuple[CompiledField, ...] = ()
    template: CompiledTemplate | None = None
    #: root element of an XML document built from fields
    root: str = "lead"
    #: the form field carrying the whole document (``content_type: form``)
    form_field: str | None = None
    #: pairs go into the URL's query string, not the body
    in_query: bool = False
    #: pairs: more fields, each the text of a document (``json`` or ``xml``) built for it
    documents: tuple[tuple[str, CompiledBody], ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledResponse:
    #: any rule holding means accepted/rejected; ``None`` when not configured
    accepted: tuple[CompiledRule, ...] | None = None
    rejected: tuple[CompiledRule, ...] | None = None
    bid: CompiledRule | None = None
    #: a multi-leg bidder's own price for one leg; ``None``: that leg reads ``bid``
    bid_exclusive: CompiledRule | None = None
    bid_shared: CompiledRule | None = None
    token: CompiledRule | None = None
    redirect_url: CompiledRule | None = None
    reason: CompiledRule | None = None


@dataclass(frozen=True, slots=True)
class CompiledStep:
    """One HTTP step (``ping`` or ``post``) of an order's delivery, compiled.

    Public to callers: ``name``, ``method``, ``content_type``, ``timeout_ms``,
    ``retries`` (a post re-sends after a connect failure or 429/502/503, through the
    outbox; a ping after a connect failure only, within the fan-out's deadline),
    ``on_unknown`` and
    ``fields_used`` (the lead fields the request may carry). The rest is read by
    ``render`` and ``read_answer``.
    """

    name: str
    method: str
    content_type: str
    timeout_ms: int
    retries: int
    #: post only: ``hold`` an unknown outcome for an operator, or ``retry`` it (§8.6)
    on_unknown: str
    fields_used: frozenset[str]
    url: TextTemplate
    headers: tuple[tuple[str, TextTemplate | SecretRef], ...]
    auth: CompiledAuth
    body: CompiledBody | None
    response: CompiledResponse
    #: static values for placeholders and templates
    vars: Mapping[str, str | SecretRef]
    #: what a test request adds to mark itself a test: a header or a body field
    test_header: tuple[str, TextTemplate] | None = None
    test_field: CompiledField | None = None


@dataclass(frozen=True, slots=True)
class CompiledLimits:
    """How hard an order's ping endpoint may be driven (``delivery.guard``)."""

    #: pings in flight at once; ``None``: no limit
    max_concurrent: int | None = None
    #: pings per second; ``None``: no limit
    per_second: float | None = None
    #: consecutive failed pings that open the circuit breaker
    breaker_failures: int = 10
    #: how long an open breaker skips the order before one probe
    breaker_cooldown_s: float = 30.0


@dataclass(frozen=True, slots=True)
class ChainLink:
    """A step of the chain after the post: its name and whether a success goes on."""

    name: str
    step: CompiledStep
    continue_on_success: bool = True


@dataclass(frozen=True, slots=True)
class CompiledNotices:
    """An order's win and loss notice URLs, their macros checked (``delivery.notices``)."""

    win: str | None = None
    loss: str | None = None
    timeout_s: float = 1.0


@dataclass(frozen=True, slots=True)
class CompiledDelivery:
    """An order's delivery: a ``post`` step always, a ``ping`` step for bid orders (and
    accept-only fixed-price ones), and the ``chain`` of steps after a sold lead's post."""

    ping: CompiledStep | None
    post: CompiledStep
    limits: CompiledLimits = CompiledLimits()
    chain: tuple[ChainLink, ...] = ()
    #: win and loss notices (live bid orders only)
    notices: CompiledNotices | None = None
