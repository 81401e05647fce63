"""Read a buyer's answer by a compiled step's response rules (pure: no I/O).

Body first (DESIGN §7): many buyers reject with HTTP 200 (``{"response":"failure"}``),
some accept with 201/202, some say "no buyer" with a 404, flags come as ``true``,
``"true"``, ``1`` or ``Y``. The verdict:

1. HTTP 5xx or 429 → :class:`AnswerError` (code ``status``): the buyer did not answer.
2. a ``rejected`` rule holds → not accepted;
3. else, when ``accepted`` rules are configured → accepted iff one holds;
4. else → accepted iff the status is 2xx.

When the verdict needs a body that cannot be read (invalid JSON/XML, XML with a DOCTYPE),
it is an :class:`AnswerError` for a 2xx answer, and a rejection for any other status
(a 404 page in HTML is still "no"). An accepted answer then yields its bid, token and
redirect URL; ``reason`` is read either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from pingtree.delivery.compiled import CompiledResponse, CompiledStep
from pingtree.delivery.errors import AnswerError, AnswerErrorCode
from pingtree.delivery.rules import AnswerBody, CompiledRule, value_text
from pingtree.domain.money import PriceError, parse_price
from pingtree.domain.orders import Leg

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_REASON_CHARS",
    "MAX_TOKEN_CHARS",
    "AnswerError",
    "AnswerErrorCode",
    "BuyerAnswer",
    "read_answer",
]

#: largest answer body read at all
MAX_ANSWER_BYTES = 256 * 1024
#: a reason is cut to this many characters
MAX_REASON_CHARS = 200
#: a longer token is an error: it goes back into the post's URL, headers or body
MAX_TOKEN_CHARS = 1024
_MAX_URL_CHARS = 2048
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class BuyerAnswer:
    """A buyer's answer as read by the step's rules.

    ``bid`` is quantized to the cent (``None``: no bid, including ``0.00``); ``bid``,
    ``token`` and ``redirect_url`` are ``None`` unless ``accepted``. ``redirect_url`` is
    an http(s) URL (another value is dropped). ``reason`` is at most
    :data:`MAX_REASON_CHARS` characters of one line; ``HTTP <status>`` for a non-2xx
    answer without one. ``leg_bids``: a multi-leg bidder's own price per leg
    (``bid_exclusive``, ``bid_shared``), read as ``bid`` is; a leg without one is priced
    by ``bid``. The order's ``max_bid`` and floor apply to each leg when judged
    (``delivery.ping_outcomes.judge``), not here.
    """

    accepted: bool
    bid: Decimal | None = None
    token: str | None = None
    redirect_url: str | None = None
    reason: str | None = None
    leg_bids: Mapping[Leg, Decimal] = field(default_factory=dict)

    @property
    def is_bid(self) -> bool:
        """Accepted with a usable bid: a ping's only priced outcome (else no bid)."""
        return self.accepted and (self.bid is not None or bool(self.leg_bids))

    def leg_price(self, leg: Leg) -> Decimal | None:
        """The price of one leg: its own bid, else the one ``bid``."""
        return self.leg_bids.get(leg, self.bid)


def read_answer(
    step: CompiledStep,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    max_bid: Decimal | None = None,
) -> BuyerAnswer:
    """The verdict and values of a buyer's answer to ``step`` (module docstring).

    ``headers`` are matched case-insensitively. ``max_bid`` is the order's ceiling.
    Raises :class:`AnswerError`: code ``status`` for 5xx/429, ``too_large`` for a body
    over :data:`MAX_ANSWER_BYTES` (or XML over its cap), ``unreadable``/``unsafe_xml``
    for a body a 2xx verdict needs and cannot read, ``bad_price`` for a bid that is not
    a price (NaN, negative, exponent…), ``above_max_bid`` for a price above ``max_bid``
    (a readable answer whose price is refused: not a failure), ``bad_token`` for a token
    that cannot be sent back.
    """
    if status >= 500 or status == 429:
        raise AnswerError(AnswerErrorCode.STATUS, f"HTTP {status}")
    if len(body) > MAX_ANSWER_BYTES:
        raise AnswerError(AnswerErrorCode.TOO_LARGE, f"answer over {MAX_ANSWER_BYTES} bytes")
    answer = AnswerBody(status, headers, body)
    rules = step.response
    success = 200 <= status < 300
    try:
        accepted = _verdict(rules, answer, success)
    except AnswerError:
        if success:
            raise
        return BuyerAnswer(accepted=False, reason=f"HTTP {status}")
    reason = _reason(rules.reason, answer) or (None if success else f"HTTP {status}")
    if not accepted:
        return BuyerAnswer(accepted=False, reason=reason)
    return BuyerAnswer(
        accepted=True,
        bid=_bid(rules.bid, answer, max_bid),
        leg_bids=_leg_bids(rules, answer),
        token=_token(rules.token, answer),
        redirect_url=_redirect_url(rules.redirect_url, answer),
        reason=reason,
    )


def _verdict(rules: CompiledResponse, answer: AnswerBody, success: bool) -> bool:
    if rules.rejected is not None and any(rule.holds(answer) for rule in rules.rejected):
        return False
    if rules.accepted is not None:
        return any(rule.holds(answer) for rule in rules.accepted)
    return success


def _bid(rule: CompiledRule | None, answer: AnswerBody, max_bid: Decimal | None) -> Decimal | None:
    if rule is None:
        return None
    raw = rule.value(answer)
    if raw is None:
        return None
    try:
        # a JSON number arrives as int or float (read as Decimal(str(x))), XPath as float
        price = parse_price(raw)
    except PriceError as exc:
        raise AnswerError(AnswerErrorCode.BAD_PRICE, exc.msg) from None
    if price is not None and max_bid is not None and price > max_bid:
        raise AnswerError(AnswerErrorCode.ABOVE_MAX_BID, f"price {price} above max_bid {max_bid}")
    return price


def _leg_bids(rules: CompiledResponse, answer: AnswerBody) -> dict[Leg, Decimal]:
    """The legs' own prices that were read (``0.00`` or absent: none for that leg)."""
    bids: dict[Leg, Decimal] = {}
    for leg, rule in ((Leg.EXCLUSIVE, rules.bid_exclusive), (Leg.SHARED, rules.bid_shared)):
        price = _bid(rule, answer, None)
        if price is not None:
            bids[leg] = price
    return bids


def _token(rule: CompiledRule | None, answer: AnswerBody) -> str | None:
    if rule is None:
        return None
    raw = rule.value(answer)
    if raw is None:
        return None
    if isinstance(raw, dict | list):
        raise AnswerError(AnswerErrorCode.BAD_TOKEN, "the token is not a scalar")
    token = value_text(raw).strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise AnswerError(AnswerErrorCode.BAD_TOKEN, f"token over {MAX_TOKEN_CHARS} characters")
    if _CONTROL.search(token):
        raise AnswerError(AnswerErrorCode.BAD_TOKEN, "control characters in the token")
    return token or None


def _redirect_url(rule: CompiledRule | None, answer: AnswerBody) -> str | None:
    """An http(s) URL or ``None``: a ``javascript:`` or broken URL never reaches a seller
    (and does not cost the sale either)."""
    if rule is None:
        return None
    raw = rule.value(answer)
    if raw is None:
        return None
    url = value_text(raw).strip()
    if len(url) > _MAX_URL_CHARS or _CONTROL.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _reason(rule: CompiledRule | None, answer: AnswerBody) -> str | None:
    if rule is None:
        return None
    try:
        raw = rule.value(answer)
    except AnswerError:
        return None  # a reason is for people: an unreadable one is no reason
    if raw is None:
        return None
    text = _SPACES.sub(" ", _CONTROL.sub(" ", value_text(raw))).strip()
    return text[:MAX_REASON_CHARS] or None
