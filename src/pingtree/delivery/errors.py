"""What can go wrong between a delivery spec and a buyer's answer, named by meaning.

Errors::

    Exception
     └── DeliveryError            base of everything below
          ├── DeliveryConfigError  a delivery spec that does not compile (.issues: every one)
          ├── RenderError          a request that cannot be built from this lead
          └── AnswerError          a buyer's answer that cannot be read (.code says why)
               └── UnsafeXML       XML refused before reading: DOCTYPE, entities, too large

No message ever holds a lead's value: they are logged, and a lead's values may be PII.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = [
    "AnswerError",
    "AnswerErrorCode",
    "DeliveryConfigError",
    "DeliveryError",
    "RenderError",
    "UnsafeXML",
]


class DeliveryError(Exception):
    """Base of the delivery errors."""


class DeliveryConfigError(DeliveryError):
    """A delivery spec that does not compile.

    ``issues`` holds every problem found, never just the first, as ``(path, msg)`` pairs;
    ``path`` is relative to the order's ``delivery`` key (``ping.response.bid.json``,
    ``post.body.fields[2].from``) and empty for the whole spec. ``str()`` lists one
    ``path: msg`` per line.
    """

    def __init__(self, issues: Iterable[tuple[str, str]]) -> None:
        self.issues: tuple[tuple[str, str], ...] = tuple(issues)
        super().__init__("\n".join(f"{path}: {msg}" if path else msg for path, msg in self.issues))


class RenderError(DeliveryError):
    """A request that cannot be built for this lead (a value that does not convert, a
    missing URL placeholder, an unknown secret, a header value with CR/LF, a template that
    fails or grows too large). The message names fields, never their values."""


class AnswerErrorCode(StrEnum):
    """Why a buyer's answer is an error rather than a verdict."""

    #: HTTP 5xx, or 429 (the buyer did not process the request)
    STATUS = "status"
    #: the body is larger than any answer we read
    TOO_LARGE = "too_large"
    #: the body is not the JSON/XML the rules read, or a rule cannot be evaluated on it
    UNREADABLE = "unreadable"
    #: XML with a DOCTYPE (entity bombs, XXE)
    UNSAFE_XML = "unsafe_xml"
    #: the bid is not a price (NaN, negative, exponent, above the largest price…)
    BAD_PRICE = "bad_price"
    #: a readable price above the order's ``max_bid``: the answer is fine, the price is not
    #: bought (outcome ``above_max_bid``, never a breaker failure)
    ABOVE_MAX_BID = "above_max_bid"
    #: a buyer token that cannot be sent back (too long, not a scalar)
    BAD_TOKEN = "bad_token"


class AnswerError(DeliveryError):
    """A buyer's answer that is neither an acceptance nor a rejection: an error outcome.

    ``code`` is the machine reason; the message is for the delivery log.
    """

    def __init__(self, code: AnswerErrorCode, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class UnsafeXML(AnswerError):
    """XML refused before it is read: too large, or carrying a DOCTYPE."""

    def __init__(self, msg: str, code: AnswerErrorCode = AnswerErrorCode.UNSAFE_XML) -> None:
        super().__init__(code, msg)
