"""Money: ``Decimal`` in code, integer cents at rest (DESIGN §8.1).

Two doors let amounts in, with different strictness:

- :func:`parse_money` for configuration (payouts, fixed prices, floors): exact amounts of at
  most two decimals; anything else is a mistake to report, not to round.
- :func:`parse_price` for a buyer's price where it enters: lenient about spelling
  (``"$1,250.00"``, JSON numbers or strings), strict about meaning, rounded *down* to the cent
  so we never charge a buyer more than it offered.

Errors::

    ValueError
     └── PriceError   a buyer's price that is not a bid (NaN, negative, exponent, > max_bid…)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from fractions import Fraction

__all__ = [
    "CENT",
    "MAX_PRICE",
    "PriceError",
    "format_money",
    "from_cents",
    "parse_money",
    "parse_price",
    "quantize_down",
    "split_proportionally",
    "to_cents",
]

CENT = Decimal("0.01")

#: No buyer's price is believed above this, ``max_bid`` or not: it keeps a garbage bid from
#: winning every auction and from overflowing 64-bit cent counters (SQL ``BIGINT``, Redis).
MAX_PRICE = Decimal("10000000.00")

#: longest price text considered at all (a buyer's body is untrusted)
_MAX_PRICE_TEXT = 40

# A buyer's price: optional minus, optional dollar sign (either order), digits with or
# without thousands separators, optional fraction. ASCII digits only.
_PRICE_TEXT = re.compile(
    r"(?P<neg1>-)?\$?(?P<neg2>-)?"
    r"(?P<number>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)",
    re.ASCII,
)
# A configuration amount: plain decimal notation, an optional sign.
_MONEY_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


class PriceError(ValueError):
    """A buyer's price that is not a bid; ``msg`` says why (never shown to sellers)."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


#: digits a ``Decimal`` operation keeps under the default context
_EXACT_DIGITS = 28


def to_cents(amount: Decimal) -> int:
    """``amount`` as integer cents.

    Raises ``ValueError`` if ``amount`` is not finite or not a whole number of cents
    (``Decimal("1.005")``): rounding is decided where an amount enters, never here.
    """
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    if exponent >= -2 and len(digits) + exponent + 2 <= _EXACT_DIGITS:
        return int(amount.scaleb(2))  # the common case, and exact: no digit is dropped
    cents = Fraction(amount) * 100  # exact, whatever the decimal context's precision
    if cents.denominator != 1:
        raise ValueError(f"not a whole number of cents: {amount}")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """Integer cents as a ``Decimal`` with exactly two decimals (``1250`` → ``12.50``)."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, not {type(cents).__name__}")
    return Decimal(f"{cents}E-2")  # exact: the constructor does not round


def quantize_down(amount: Decimal) -> Decimal:
    """``amount`` to the cent, rounding toward zero (``12.349`` → ``12.34``).

    Raises ``ValueError`` if ``amount`` is not finite or too large to hold to the cent.
    """
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    try:
        return amount.quantize(CENT, rounding=ROUND_DOWN)
    except InvalidOperation:
        raise ValueError(f"amount too large: {amount}") from None


def parse_money(raw: object) -> Decimal:
    """A configuration amount as a ``Decimal`` quantized to the cent.

    Accepts ``str`` in plain decimal notation (``"25"``, ``"25.5"``, ``" 25.00 "``), ``int``,
    ``Decimal`` and ``float`` (read as ``Decimal(str(x))``, so ``0.1`` is ``0.10``).

    Raises ``ValueError`` for anything else: bools, other types, exponent notation in text,
    NaN and infinities, negative amounts, and more than two decimals (``"25.001"``;
    ``"25.000"`` is fine: the value, not the spelling, counts).
    """
    amount = _money_value(raw)
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {raw!r}")
    if amount < 0:
        raise ValueError(f"must not be negative: {raw!r}")
    try:
        quantized = amount.quantize(CENT)
    except InvalidOperation:
        raise ValueError(f"amount too large: {raw!r}") from None
    if quantized != amount:
        raise ValueError(f"at most two decimals: {raw!r}")
    return quantized


def _money_value(raw: object) -> Decimal:
    if isinstance(raw, bool):
        raise ValueError(f"not an amount: {raw!r}")
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(str(raw))
    if isinstance(raw, str):
        text = raw.strip()
        if not _MONEY_TEXT.fullmatch(text):
            raise ValueError(f"not an amount in plain decimal notation: {raw!r}")
        return Decimal(text)
    raise ValueError(f"not an amount: {raw!r}")


def parse_price(raw: object, max_bid: Decimal | None = None) -> Decimal | None:
    """A buyer's price as it enters (DESIGN §8.1): a bid to the cent, or ``None`` for no bid.

    ``raw`` may be an ``int``, a ``float`` (read as ``Decimal(str(x))``), a ``Decimal`` or a
    string such as ``"50"``, ``"50.00"``, ``"$1,250.00"`` (surrounding spaces ignored). The
    price is rounded *down* to the cent; a price that is zero after rounding (``0``,
    ``"0.00"``, ``0.004``) is ``None``: the buyer made no offer.

    Raises :class:`PriceError` for bools, ``None`` and other types, empty or malformed text,
    exponent notation in text (``"1e3"``), NaN, infinities, negative prices, prices above
    ``max_bid`` (compared after rounding) and prices above :data:`MAX_PRICE`.
    The result is always ``None`` or a ``Decimal`` with two decimals in ``[0.01, MAX_PRICE]``.
    """
    price = _price_value(raw)
    if not price.is_finite():
        raise PriceError(f"not a finite price: {raw!r}")
    if price < 0:
        raise PriceError(f"negative price: {raw!r}")
    if price > MAX_PRICE:
        raise PriceError(f"price above {MAX_PRICE}: {raw!r}")
    price = price.quantize(CENT, rounding=ROUND_DOWN)  # ≤ MAX_PRICE: cannot overflow
    if price == 0:
        return None
    if max_bid is not None and price > max_bid:
        raise PriceError(f"price {price} above max_bid {max_bid}")
    return price


def _price_value(raw: object) -> Decimal:
    if isinstance(raw, bool):  # before int: bool is an int
        raise PriceError(f"not a price: {raw!r}")
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise PriceError(f"not a finite price: {raw!r}")
        return Decimal(str(raw))
    if isinstance(raw, str):
        return _price_text(raw)
    raise PriceError(f"not a price: {type(raw).__name__}")


def _price_text(raw: str) -> Decimal:
    text = raw.strip()
    if not text:
        raise PriceError("empty price")
    if len(text) > _MAX_PRICE_TEXT:
        raise PriceError(f"price text too long ({len(text)} characters)")
    match = _PRICE_TEXT.fullmatch(text)
    if match is None:
        raise PriceError(_why_not_price(text))
    value = Decimal(match["number"].replace(",", ""))
    return -value if (match["neg1"] or match["neg2"]) else value


def _why_not_price(text: str) -> str:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return f"not a price: {text!r}"
    if value.is_nan():
        return f"NaN is not a price: {text!r}"
    if value.is_infinite():
        return f"not a finite price: {text!r}"
    if "e" in text.lower():
        return f"exponent notation is not a price: {text!r}"
    return f"not a price: {text!r}"


def split_proportionally(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``total`` over ``weights`` in proportion, to the cent (largest remainder).

    Each part is the exact share rounded down to the cent; the cents left over go one each
    to the parts with the largest remainders (ties to the earlier part). So the parts sum
    exactly to ``total`` and each is within a cent of its exact share. When the weights
    sum to zero the split is equal, by the same method. A negative ``total`` splits as its
    opposite, negated. Parts are in the order of ``weights``.

    Raises ``ValueError`` if ``total`` is not whole cents, a weight is negative or not
    finite, or ``weights`` is empty while ``total`` is not zero (``[]`` for zero).
    """
    cents = to_cents(total)
    if not weights:
        if cents:
            raise ValueError("cannot split a non-zero total over no weights")
        return []
    for weight in weights:
        if not weight.is_finite() or weight < 0:
            raise ValueError(f"weights must be finite and non-negative: {weight}")
    exact = [Fraction(weight) for weight in weights]
    if sum(exact) == 0:
        exact = [Fraction(1)] * len(weights)
    parts = _largest_remainder(abs(cents), exact)
    sign = -1 if cents < 0 else 1
    return [from_cents(sign * part) for part in parts]


def _largest_remainder(cents: int, weights: list[Fraction]) -> list[int]:
    total_weight = sum(weights)
    shares = [cents * weight / total_weight for weight in weights]
    parts = [math.floor(share) for share in shares]
    left = cents - sum(parts)
    # the `left` largest remainders get a cent each; ties go to the earlier part
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - parts[i]), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def format_money(amount: Decimal) -> str:
    """``amount`` as plain text with two decimals: ``"12.50"``, ``"-3.00"``, never ``"1E+2"``.

    Raises ``ValueError`` if ``amount`` is not finite or not a whole number of cents.
    """
    return f"{from_cents(to_cents(amount)):f}"
