"""The delivery log: one :class:`Attempt` per outbound HTTP exchange with a buyer.

What is kept is safe to show an operator: secrets in headers and URLs are masked, the
lead's PII values in a body are replaced by ``{{field}}`` placeholders (DESIGN §8.5), and
bodies are cut at :data:`MAX_KEPT_CHARS`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import uuid_utils

if TYPE_CHECKING:
    from pingtree.delivery.client import RawResponse
    from pingtree.delivery.render import OutboundRequest
from urllib.parse import quote, quote_plus

__all__ = [
    "ATTEMPT_CONTEXT",
    "MAX_KEPT_CHARS",
    "Attempt",
    "AttemptLog",
    "exchange_attempt",
    "kept_text",
    "mask_pii",
    "mask_values",
    "masked_headers",
    "since_ms",
    "wall_clock",
]

#: the (ping id, lead id) an outbound exchange is made for: set by the flows, read where an
#: attempt is recorded (asyncio tasks inherit it), so delivery code need not carry them
ATTEMPT_CONTEXT: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "attempt_context", default=(None, None)
)

#: the most of a request or response body kept in the log (STYLE: bound what a buyer sends)
MAX_KEPT_CHARS = 2048
_MASK = "•••"
#: headers masked whole in the delivery log, whatever produced them
_MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass(frozen=True)
class Attempt:
    id: str
    #: ``ping`` or ``post``
    kind: str
    order_id: str
    buyer_id: str
    started_at: dt.datetime
    duration_ms: int
    #: bid, no_bid, below_floor, accepted, rejected, timeout, error, unknown, skipped_slow…
    outcome: str
    ping_id: str | None = None
    lead_id: str | None = None
    method: str = ""
    url: str = ""
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: str = ""
    status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: str = ""
    #: what the response rules read: bid, token, redirect_url, reason
    parsed: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""


def exchange_attempt(
    kind: str,
    order_id: str,
    buyer_id: str,
    *,
    started: float,
    outcome: str,
    error: str,
    request: OutboundRequest | None,
    raw: RawResponse | None,
    parsed: Mapping[str, Any],
    secrets: Sequence[str],
    pii: Mapping[str, str] | None = None,
    ping_id: str | None = None,
    lead_id: str | None = None,
) -> Attempt:
    """The log's record of one exchange that began at the ``time.monotonic()`` instant
    ``started``: secrets masked everywhere, ``pii`` values replaced by placeholders in the
    URL and the bodies, bodies cut."""
    url = ""
    if request is not None:
        url = mask_values(request.url, secrets)
        url = mask_pii(url, pii) if pii else url
    return Attempt(
        id=str(uuid_utils.uuid7()),
        kind=kind,
        order_id=order_id,
        buyer_id=buyer_id,
        started_at=wall_clock(started),
        duration_ms=since_ms(started),
        outcome=outcome,
        ping_id=ping_id,
        lead_id=lead_id,
        method=request.method if request is not None else "",
        url=url,
        request_headers=masked_headers(request.headers, secrets) if request else {},
        request_body=kept_text(request.body, secrets, pii) if request else "",
        status=raw.status if raw is not None else None,
        response_headers=dict(raw.headers) if raw is not None else {},
        response_body=kept_text(raw.body, (), pii) if raw is not None else "",
        parsed=dict(parsed),
        error=mask_values(error, secrets)[:MAX_KEPT_CHARS],
    )


class AttemptLog(Protocol):
    def record(self, attempt: Attempt) -> None:
        """Keep an attempt; never blocks the caller (writes are batched)."""
        ...


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by a mask."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text


def mask_pii(text: str, pii: Mapping[str, str]) -> str:
    """``text`` with each PII value replaced by its ``{{field}}`` placeholder: as written,
    URL-encoded, and for a phone number in any punctuation (``(305) 555-0142``)."""
    for name, value in sorted(pii.items(), key=lambda item: len(item[1]), reverse=True):
        if not value:
            continue
        placeholder = "{{" + name + "}}"
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            text = text.replace(form, placeholder)
        # a number written another way still has its digits in a row once all else is
        # gone: without them, no pattern to compile (each number's is new to re's cache)
        if value.isdigit() and len(value) >= 7 and value in _digits(text):
            spread = r"[^0-9]{0,3}".join(value)
            text = re.sub(rf"(?<![0-9])(?:1[^0-9]{{0,3}})?{spread}(?![0-9])", placeholder, text)
    return text


def _digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text)


_NOT_DIGITS = re.compile(r"[^0-9]+")


def masked_headers(headers: Iterable[tuple[str, str]], secrets: Sequence[str]) -> dict[str, str]:
    """Request headers for the log: credentials masked, and every known secret value."""
    return {
        name: mask_values(value, [value] if name.lower() in _MASKED_HEADERS else secrets)
        for name, value in headers
    }


def kept_text(body: bytes, secrets: Sequence[str], pii: Mapping[str, str] | None = None) -> str:
    """A body as the log keeps it: masked, then cut at :data:`MAX_KEPT_CHARS`."""
    # decode a little more than is kept: masking may shorten it, and a cut mid-secret
    # must not leave the secret's head behind
    text = body[: MAX_KEPT_CHARS * 4].decode("utf-8", "replace")
    if secrets:
        text = mask_values(text, secrets)
    if pii:
        text = mask_pii(text, pii)
    return text[:MAX_KEPT_CHARS]


def since_ms(started: float) -> int:
    """Milliseconds since the ``time.monotonic()`` instant ``started``."""
    return round((time.monotonic() - started) * 1000)


def wall_clock(monotonic: float) -> dt.datetime:
    """The UTC time of a ``time.monotonic()`` instant in the past."""
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=time.monotonic() - monotonic)
