"""The delivery log: one :class:`Attempt` per outbound HTTP exchange with a buyer.

What is kept is safe to show an operator: secrets in headers and URLs are masked, the
lead's PII values in a body are replaced by ``{{field}}`` placeholders (DESIGN §8.5), and
bodies are cut at :data:`MAX_KEPT_CHARS`.
"""

from __future__ import annotations

import datetime as dt
import json
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
    "PiiValues",
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

#: a lead's PII values by field (``{"email": "ana@example.com"}``), or as pairs when one
#: field has several (what a template made of it besides the value itself)
PiiValues = Mapping[str, str] | Sequence[tuple[str, str]]

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
    pii: PiiValues | None = None,
    shown: OutboundRequest | None = None,
    ping_id: str | None = None,
    lead_id: str | None = None,
) -> Attempt:
    """The log's record of one exchange that began at the ``time.monotonic()`` instant
    ``started``: secrets masked everywhere, ``pii`` values replaced by placeholders, bodies
    cut.

    ``shown`` is ``request`` rendered with the PII already replaced by placeholders
    (:func:`pingtree.delivery.render.render_masked`): it is logged in place of the request
    with no search for values. Without it, the request is masked by :func:`mask_pii`, as
    the response, the buyer's parsed answer and the error always are (what a buyer says
    back cannot be rendered again).
    """
    pii = pii or {}
    method, url, headers, body = "", "", {}, ""
    if shown is not None:
        method, url = shown.method, mask_values(shown.url, secrets)
        headers = masked_headers(shown.headers, secrets)
        body = kept_text(shown.body, secrets)
    elif request is not None:
        method, url = request.method, mask_pii(mask_values(request.url, secrets), pii)
        headers = masked_headers(request.headers, secrets, pii)
        body = kept_text(request.body, secrets, pii)
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
        method=method,
        url=url,
        request_headers=headers,
        request_body=body,
        status=raw.status if raw is not None else None,
        response_headers=(
            {name: mask_pii(value, pii) for name, value in raw.headers.items()}
            if raw is not None
            else {}
        ),
        response_body=kept_text(raw.body, (), pii) if raw is not None else "",
        # a buyer's reason is cut to a few hundred characters before it gets here
        parsed={
            name: mask_pii(value, pii, cut=True) if isinstance(value, str) else value
            for name, value in parsed.items()
        },
        error=mask_pii(mask_values(error, secrets), pii, cut=True)[:MAX_KEPT_CHARS],
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


def mask_pii(text: str, pii: PiiValues, *, cut: bool = False) -> str:
    """``text`` with each PII value replaced by its ``{{field}}`` placeholder in every
    shape a value takes on the wire: as written (in any letter case), URL-encoded
    (``quote`` and ``quote_plus``), JSON-escaped (``\\"``, ``\\\\``, ``\\/``, and
    ``\\uXXXX`` with surrogate pairs when ASCII-only), XML- or HTML-escaped (named,
    decimal and hex character references), a phone number in any punctuation
    (``(305) 555-0142``) and a date as people write it (``03/15/1980``, ``19800315``).

    For what was built from the lead, prefer rendering it masked
    (:func:`pingtree.delivery.render.render_masked`); this is for what comes back. It is
    cheap when a value is absent: a value whose longest run of letters and digits is not
    in the text is in it in no shape, and the shapes are only built for a value found.

    ``cut``: the text may have been cut short (a buyer's reason is): a value's head of
    :data:`_MIN_HEAD` characters or more at its end is masked too.
    """
    if not pii:
        return text
    pairs = pii.items() if isinstance(pii, Mapping) else pii
    lowered = text.lower()  # kept while nothing is replaced: the text is read far more
    for name, value in sorted(pairs, key=lambda item: len(item[1]), reverse=True):
        if not value:
            continue
        placeholder = "{{" + name + "}}"
        if value in text:
            text = text.replace(value, placeholder)
            lowered = text.lower()
        anchor = _anchor(value)
        if anchor is None or anchor in lowered:
            masked = _shapes(value).sub(placeholder, text)
            if masked != text:
                text, lowered = masked, masked.lower()
        before = text
        if _ISO_DATE.fullmatch(value):
            text = _without_dates(text, value, placeholder)
        if cut:
            text = _without_head(text, value, placeholder)
        # a number written another way still has its digits in a row once all else is
        # gone: without them, no pattern to compile (each number's is new to re's cache)
        if value.isdigit() and len(value) >= 7 and value in _digits(text):
            spread = r"[^0-9]{0,3}".join(value)
            text = re.sub(rf"(?<![0-9])(?:1[^0-9]{{0,3}})?{spread}(?![0-9])", placeholder, text)
        if text != before:
            lowered = text.lower()
    return text


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: how a date is written besides ISO (a template's ``date`` filter, a buyer's answer)
_DATE_FORMS = ("%m/%d/%Y", "%m-%d-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d", "%m/%d/%y")


def _without_dates(text: str, value: str, placeholder: str) -> str:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return text
    for form in _DATE_FORMS:
        written = day.strftime(form)
        if written in text:
            text = re.sub(rf"(?<![0-9]){re.escape(written)}(?![0-9])", placeholder, text)
    return text


#: the shortest head of a value masked at the end of a text that may have been cut
_MIN_HEAD = 3


def _without_head(text: str, value: str, placeholder: str) -> str:
    """``text`` whose end, if it is the head of ``value`` in one of its shapes, is
    replaced by ``placeholder``."""
    tail = text[-len(value) * 6 :].lower()  # no shape is longer than 6 characters a char
    for form in (value, _json(value, ascii_only=False), quote_plus(value), quote(value, safe="")):
        form = form.lower()
        for size in range(min(len(form) - 1, len(tail)), _MIN_HEAD - 1, -1):
            if tail.endswith(form[:size]):
                return text[: len(text) - size] + placeholder
    return text


def _digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text)


_NOT_DIGITS = re.compile(r"[^0-9]+")
#: characters written the same in every encoding (URL, JSON, XML, HTML) a value may take
_PLAIN_RUN = re.compile(r"[A-Za-z0-9]{2,}")
#: XML's and HTML's names for the characters they escape
_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}


def _anchor(value: str) -> str | None:
    """The longest run of ASCII letters and digits of ``value``, in lower case: every
    shape of the value holds it; ``None`` when there is none."""
    runs = _PLAIN_RUN.findall(value)
    return max(runs, key=len).lower() if runs else None


def _shapes(value: str) -> re.Pattern[str]:
    """One pattern matching ``value`` in each of its shapes, any letter case."""
    forms = {
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        _json(value, ascii_only=True),
        _json(value, ascii_only=True).replace("/", "\\/"),
        _json(value, ascii_only=False),
        _json(value, ascii_only=False).replace("/", "\\/"),
    }
    alternatives = sorted((re.escape(form) for form in forms), key=len, reverse=True)
    # XML and HTML: each character that may be escaped, in any of its ways
    alternatives.append("".join(_xml_char(c) for c in value))
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _json(value: str, *, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)[1:-1]


def _xml_char(char: str) -> str:
    if char.isascii() and (char.isalnum() or char in " _.,-"):
        return re.escape(char)
    code = ord(char)
    ways = [re.escape(char), f"&#0*{code};", f"&#x0*{code:x};"]
    if char in _NAMED:
        ways.append(f"&{_NAMED[char]};")
    return "(?:" + "|".join(ways) + ")"


def masked_headers(
    headers: Iterable[tuple[str, str]],
    secrets: Sequence[str],
    pii: PiiValues | None = None,
) -> dict[str, str]:
    """Request headers for the log: credentials masked, every known secret value, and
    ``pii`` values replaced by placeholders (:func:`mask_pii`)."""
    return {
        name: mask_pii(
            mask_values(value, [value] if name.lower() in _MASKED_HEADERS else secrets),
            pii or {},
        )
        for name, value in headers
    }


def kept_text(body: bytes, secrets: Sequence[str], pii: PiiValues | None = None) -> str:
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
