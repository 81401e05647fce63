"""Dispositions: what a buyer reports became of a lead it bought (DESIGN §9), and what each
code means for the reports.

A vertical has a list of codes (:data:`DEFAULT_DISPOSITIONS` unless its YAML names its own);
each says whether a lead with it as its current disposition was **contacted** (the buyer
reached the consumer) and whether it **converted** (the consumer bought: a sale downstream,
which is a contact too). A buyer may report several over time; the latest is the current
one. An optional value (a policy's premium, a loan's fee) is money, kept in cents.

Errors: :class:`DispositionError` (a ``ValueError``) names the offending input; the API
turns it into a 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pingtree.domain.money import parse_money, to_cents

__all__ = [
    "DEFAULT_DISPOSITIONS",
    "MAX_NOTE",
    "MAX_VALUE",
    "DispositionCode",
    "DispositionError",
    "code_of",
    "value_cents",
]

#: the longest note a report may carry
MAX_NOTE = 500
#: the largest value a report may carry: ten million, far above any policy's premium
MAX_VALUE = Decimal("10000000.00")


class DispositionError(ValueError):
    """A disposition's input is not acceptable: ``field`` names it, the message says why."""

    def __init__(self, field: str, msg: str) -> None:
        super().__init__(msg)
        self.field = field
        self.msg = msg


@dataclass(frozen=True, slots=True)
class DispositionCode:
    """One code a buyer may report, and what it means for the reports."""

    code: str
    label: str
    #: the buyer reached the consumer
    contacted: bool = False
    #: the consumer bought downstream (implies ``contacted``)
    converted: bool = False


#: a vertical's codes unless its YAML names its own
DEFAULT_DISPOSITIONS: tuple[DispositionCode, ...] = (
    DispositionCode("contacted", "Contacted", contacted=True),
    DispositionCode("appointment", "Appointment set", contacted=True),
    DispositionCode("quoted", "Quoted", contacted=True),
    DispositionCode("sold", "Sold", contacted=True, converted=True),
    DispositionCode("not_interested", "Not interested", contacted=True),
    DispositionCode("no_contact", "No contact yet"),
    DispositionCode("bad_number", "Bad number"),
    DispositionCode("wrong_person", "Wrong person"),
    DispositionCode("duplicate", "Duplicate"),
    DispositionCode("do_not_call", "Asked not to be called"),
)


def code_of(codes: Iterable[DispositionCode], code: str) -> DispositionCode:
    """The code ``code`` among ``codes``; :class:`DispositionError` on ``code`` naming the
    allowed ones otherwise."""
    known = tuple(codes)
    for candidate in known:
        if candidate.code == code:
            return candidate
    allowed = ", ".join(c.code for c in known)
    raise DispositionError("code", f"unknown disposition code; allowed: {allowed}")


def value_cents(raw: object) -> int | None:
    """A reported value (``"1250.00"``, ``1250``, a ``Decimal``) as integer cents; ``None``
    or ``""`` is no value. :class:`DispositionError` on ``value`` for a negative amount, more
    than two decimals, text that is no amount, or more than :data:`MAX_VALUE`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        amount = parse_money(raw)
    except ValueError as exc:
        raise DispositionError("value", str(exc)) from None
    if amount > MAX_VALUE:
        raise DispositionError("value", f"must be at most {MAX_VALUE}")
    return to_cents(amount)
