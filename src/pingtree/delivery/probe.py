"""Test a buyer: send a sample ping and post to an order's configured endpoints and show
what went out, what came back and what the rules read — how an operator checks an
integration before it goes live.
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
from pingtree.delivery.errors import AnswerError, RenderError
from pingtree.delivery.read import read_answer
from pingtree.delivery.render import render
from pingtree.domain.fields import TRACKING_FIELDS
from pingtree.domain.model import FieldSpec, FieldType, LeadValue, Vertical

__all__ = ["Exchange", "probe_buyer", "sample_lead"]

#: what a response shows of its body
_SHOWN_CHARS = 4096


@dataclass(frozen=True)
class Exchange:
    """One step's request, response and reading."""

    step: str
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

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
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
    post: bool = True,
) -> list[Exchange]:
    """The ping (with the lead's non-PII fields only), then the post (the full lead and the
    token the ping answer carried). Never raises for a buyer's failure: it is shown."""
    exchanges = []
    token: str | None = None
    if delivery.ping is not None:
        safe = {name: value for name, value in lead.items() if name not in pii_fields}
        ping = await _exchange("ping", client, delivery.ping, safe, None, resolve_secret, max_bid)
        exchanges.append(ping)
        token = (ping.parsed or {}).get("token")
    if post:
        exchanges.append(
            await _exchange("post", client, delivery.post, lead, token, resolve_secret, max_bid)
        )
    return exchanges


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
        return _with(shown, error=f"unreadable answer: {exc}")
    parsed = {
        "accepted": answer.accepted,
        "bid": str(answer.bid) if answer.bid is not None else None,
        "token": answer.token,
        "redirect_url": answer.redirect_url,
        "reason": answer.reason,
    }
    return _with(shown, parsed=parsed)


def _with(exchange: Exchange, **changes: Any) -> Exchange:
    return replace(exchange, **changes)
