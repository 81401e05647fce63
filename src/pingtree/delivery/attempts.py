"""The delivery log: one :class:`Attempt` per outbound HTTP exchange with a buyer.

What is kept is safe to show an operator: secrets in headers and URLs are masked, the
lead's PII values in a body are replaced by ``{{field}}`` placeholders (DESIGN §8.5), and
bodies are cut at :data:`MAX_KEPT_CHARS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ATTEMPT_CONTEXT", "MAX_KEPT_CHARS", "Attempt", "AttemptLog", "mask_values"]

#: the (ping id, lead id) an outbound exchange is made for: set by the flows, read where an
#: attempt is recorded (asyncio tasks inherit it), so delivery code need not carry them
ATTEMPT_CONTEXT: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "attempt_context", default=(None, None)
)

#: the most of a request or response body kept in the log (STYLE: bound what a buyer sends)
MAX_KEPT_CHARS = 2048
_MASK = "•••"


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


class AttemptLog(Protocol):
    def record(self, attempt: Attempt) -> None:
        """Keep an attempt; never blocks the caller (writes are batched)."""
        ...


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by a mask."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
