"""Test a buyer: send a sample ping (and, when asked, a post) to an order's configured
endpoints and show what went out, what came back and what the rules read — how an
operator checks an integration before it goes live.

Honest by default: a test never posts a fake lead unless asked, never after a ping that
was not accepted, always with the ping's token, and marked as a test by the step's
``test_marker`` when it has one (a buyer once booked a fake lead as a real sale).

After an accepted test post, the delivery chain's steps (``delivery.chain``) run as they
would after a sale: in order, with the ping's token, a success of a step with
``continue_on_success: false`` ending the chain (the steps after it are shown as skipped),
a failure never ending it. Each is marked as a test by its own ``test_marker``, else by
the post's marker when that is a header (a header fits any request; a body field may
not).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pingtree.delivery.attempts import mask_values, masked_headers
from pingtree.delivery.client import BuyerClient, SendError, send
from pingtree.delivery.compiled import CompiledDelivery, CompiledStep
from pingtree.delivery.errors import AnswerError, AnswerErrorCode, RenderError
from pingtree.delivery.read import read_answer
from pingtree.delivery.render import render
from pingtree.domain.fields import TRACKING_FIELDS
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue, Vertical

__all__ = ["Exchange", "probe_buyer", "sample_lead"]

#: what a response shows of its body
_SHOWN_CHARS = 4096


@dataclass(frozen=True)
class Exchange:
    """One step's request, response and reading."""

    step: str
    #: why the step was not sent although nothing failed (a chain ended by a success)
    skipped: str = ""
    method: str = ""
    url: str = ""
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: str = ""
    status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: str = ""
    elapsed_ms: int | None = None
    #: what the response rules read, when the answer was readable
    parsed: Mapping[str, Any] | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        """The step was sent, answered readably and accepted; or skipped by design."""
        if self.skipped:
            return True
        return not self.error and self.parsed is not None and bool(self.parsed["accepted"])

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "ok": self.ok,
            "skipped": self.skipped,
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": dict(self.request_headers),
                "body": self.request_body,
            },
            "response": None
            if self.status is None
            else {
                "status": self.status,
                "headers": dict(self.response_headers),
                "body": self.response_body,
                "elapsed_ms": self.elapsed_ms,
            },
            "parsed": dict(self.parsed) if self.parsed is not None else None,
            "error": self.error,
        }


_SAMPLES: dict[FieldType, LeadValue] = {
    FieldType.STRING: "Test",
    FieldType.INTEGER: 35,
    FieldType.DECIMAL: Decimal("1.00"),
    FieldType.BOOLEAN: True,
    FieldType.DATE: dt.date(1990, 1, 15),
    FieldType.EMAIL: "test.lead@example.com",
    FieldType.PHONE: "3055550100",
    FieldType.ZIP: "33101",
    FieldType.STATE: "FL",
    FieldType.IP: "127.0.0.1",
    FieldType.URL: "https://example.com/form",
}


def sample_lead(
    vertical: Vertical, overrides: Mapping[str, LeadValue] | None = None
) -> dict[str, LeadValue]:
    """A plausible lead for every field of the vertical the tracking fields aside:
    sample values by type, within the field's bounds and values; ``overrides`` win."""
    lead = {spec.name: _sample(spec) for spec in vertical.fields if not _is_tracking(spec)}
    return {**lead, **(overrides or {})}


def _is_tracking(spec: FieldSpec) -> bool:
    return spec in TRACKING_FIELDS


def _sample(spec: FieldSpec) -> LeadValue:
    if spec.type is FieldType.ENUM:
        return spec.values[0]
    value = _SAMPLES[spec.type]
    if spec.type in (FieldType.INTEGER, FieldType.DECIMAL) and isinstance(value, int | Decimal):
        low = spec.min if spec.min is not None else Decimal(value)
        high = spec.max if spec.max is not None else Decimal(value)
        clamped = min(max(Decimal(value), low), high)
        return int(clamped) if spec.type is FieldType.INTEGER else clamped
    return value


async def probe_buyer(
    client: BuyerClient,
    delivery: CompiledDelivery,
    lead: Mapping[str, LeadValue],
    pii_fields: frozenset[str],
    resolve_secret: Callable[[str], str],
    *,
    max_bid: Decimal | None = None,
    post: bool = False,
) -> list[Exchange]:
    """The ping (with the lead's non-PII fields only); with ``post``, then the post (the
    full lead and the token the ping answer carried), only when the ping was accepted
    (else a post exchange saying why it was not sent). Each request carries its step's
    test marker. After an accepted post, the delivery chain's steps, named
    ``chain.<name>`` (not sent when the post was not accepted). Never raises for a buyer's
    failure: it is shown."""
    exchanges = []
    token: str | None = None
    if delivery.ping is not None:
        safe = {name: value for name, value in lead.items() if name not in pii_fields}
        ping = await _exchange("ping", client, delivery.ping, safe, None, resolve_secret, max_bid)
        exchanges.append(ping)
        if post and not ping.ok:
            # a fake lead never follows a ping the buyer did not accept
            exchanges.append(Exchange("post", error="not sent: the ping was not accepted"))
            return exchanges
        token = (ping.parsed or {}).get("token")
    if post:
        posted = await _exchange(
            "post", client, delivery.post, lead, token, resolve_secret, max_bid
        )
        exchanges.append(posted)
        exchanges += await _chain(client, delivery, lead, token, resolve_secret, posted.ok)
    return exchanges


async def _chain(
    client: BuyerClient,
    delivery: CompiledDelivery,
    lead: Mapping[str, LeadValue],
    token: str | None,
    resolve_secret: Callable[[str], str],
    sold: bool,
) -> list[Exchange]:
    """The chain's steps after a test post, as :mod:`pingtree.flows.chain` runs them."""
    exchanges: list[Exchange] = []
    ended_by = ""
    for link in delivery.chain:
        name = f"chain.{link.name}"
        if not sold:
            exchanges.append(Exchange(name, error="not sent: the post was not accepted"))
            continue
        if ended_by:
            exchanges.append(Exchange(name, skipped=f"the chain ended with {ended_by}"))
            continue
        step = _with_marker_of(link.step, delivery.post)
        exchange = await _exchange(name, client, step, lead, token, resolve_secret, None)
        exchanges.append(exchange)
        if exchange.ok and not link.continue_on_success:
            ended_by = f"{name}'s success"
    return exchanges


def _with_marker_of(step: CompiledStep, post: CompiledStep) -> CompiledStep:
    """A chain step marked as the post is when it has no test marker of its own: by the
    post's header (never its body field, which the step's body may not hold)."""
    if step.test_header is not None or step.test_field is not None:
        return step
    if post.test_header is None:
        return step
    if any(name.lower() == post.test_header[0].lower() for name, _ in step.headers):
        return step
    return replace(step, test_header=post.test_header)


def _as_test(step: CompiledStep) -> CompiledStep:
    """``step`` with its test marker: a header, or a field of its body."""
    if step.test_header is not None:
        return replace(step, headers=(*step.headers, step.test_header))
    if step.test_field is not None and step.body is not None:
        return replace(step, body=replace(step.body, fields=(*step.body.fields, step.test_field)))
    return step


async def _exchange(
    name: str,
    client: BuyerClient,
    step: CompiledStep,
    values: Mapping[str, LeadValue],
    token: str | None,
    resolve_secret: Callable[[str], str],
    max_bid: Decimal | None,
) -> Exchange:
    secrets: list[str] = []

    def resolve(secret_name: str) -> str:
        value = resolve_secret(secret_name)
        secrets.append(value)
        return value

    step = _as_test(step)
    try:
        request = render(step, values, token=token, resolve_secret=resolve)
    except (RenderError, KeyError) as exc:
        return Exchange(name, error=f"could not build the request: {exc}")
    # what went out, as an operator may see it: credentials masked (as in the delivery log)
    shown = Exchange(
        name,
        method=request.method,
        url=mask_values(request.url, secrets),
        request_headers=masked_headers(request.headers, secrets),
        request_body=mask_values(request.body.decode("utf-8", errors="replace"), secrets),
    )
    started = time.monotonic()
    try:
        response = await send(
            client,
            request.method,
            request.url,
            request.headers,
            request.body,
            timeout=step.timeout_ms / 1000,
        )
    except SendError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return _with(shown, elapsed_ms=elapsed, error=f"no answer: {exc.kind}")
    shown = _with(
        shown,
        status=response.status,
        # plain strings: header names come as the client's own str subclass
        response_headers={str(k): str(v) for k, v in response.headers.items()},
        response_body=response.body[:_SHOWN_CHARS].decode("utf-8", errors="replace"),
        elapsed_ms=response.elapsed_ms,
    )
    try:
        answer = read_answer(
            step, response.status, response.headers, response.body, max_bid=max_bid
        )
    except AnswerError as exc:
        if exc.code is AnswerErrorCode.ABOVE_MAX_BID:
            return _with(shown, error=f"refused: {exc}")
        return _with(shown, error=f"unreadable answer: {exc}")
    parsed = {
        "accepted": answer.accepted,
        "bid": str(answer.bid) if answer.bid is not None else None,
        # a multi-leg bidder's own price per leg (bid_exclusive, bid_shared)
        **(
            {"leg_bids": {str(leg): str(p) for leg, p in answer.leg_bids.items()}}
            if answer.leg_bids
            else {}
        ),
        "token": answer.token,
        "redirect_url": answer.redirect_url,
        "reason": answer.reason,
    }
    return _with(shown, parsed=parsed)


def _with(exchange: Exchange, **changes: Any) -> Exchange:
    return replace(exchange, **changes)
