"""Inbound profiles: how a campaign takes a seller's call in the seller's own shape.

A profile names a format (``flat_json``, ``form``, ``query``, ``xml``; ``json`` is our own
envelope at ``/api/v1/ping``), the seller's names for our fields (aliases), value maps
(``Y`` → ``true``, ``M`` → ``male``), names it sends that we drop, and how its answers
read (format, element or key names, status words). Everything here is pure: the API reads
the bytes, this module turns the seller's names and values into ours, and back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ANSWER_KEYS",
    "CONTROL_NAMES",
    "AnswerFormat",
    "InboundFormat",
    "InboundProfile",
    "MappedCall",
    "to_ours",
]

#: the envelope's names a seller may send under its own names too
CONTROL_NAMES = ("ping_id", "test", "api_key", "tmax_ms")
#: the keys of an answer (``api.seller.SellerAnswer``), and ``error`` for a refusal's items
ANSWER_KEYS = (
    "status",
    "ping_id",
    "lead_id",
    "bid",
    "price",
    "expires_at",
    "redirect_url",
    "reasons",
    "fields",
    "missing",
    "test",
    "error",
)


class InboundFormat(StrEnum):
    JSON = "json"
    FLAT_JSON = "flat_json"
    FORM = "form"
    QUERY = "query"
    XML = "xml"


class AnswerFormat(StrEnum):
    JSON = "json"
    XML = "xml"


@dataclass(frozen=True, slots=True)
class InboundProfile:
    id: str
    format: InboundFormat
    #: the seller's name → ours (a vertical field or one of :data:`CONTROL_NAMES`)
    aliases: Mapping[str, str] = field(default_factory=dict)
    #: our field → (the seller's value, case-folded → ours)
    values: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: the same maps with the seller's values as configured (for writing them back)
    spellings: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: names the seller sends that are not lead data (its own campaign id, an action name)
    ignore: frozenset[str] = frozenset()
    #: the root element of an XML request; ``None``: any
    request_root: str | None = None
    answer_format: AnswerFormat = AnswerFormat.JSON
    #: the root element of an XML answer
    answer_root: str = "response"
    #: our answer key → the seller's
    answer_names: Mapping[str, str] = field(default_factory=dict)
    #: our status (``accepted sold pending rejected error``) → the seller's word
    statuses: Mapping[str, str] = field(default_factory=dict)

    def their_name(self, ours: str) -> str:
        """The seller's name for one of our fields (its first alias), else ours."""
        for theirs, target in self.aliases.items():
            if target == ours:
                return theirs
        return ours

    def their_value(self, ours: str, value: object) -> object:
        """The seller's spelling of one of our values (the first entry of its map that
        gives it), else the value as it is."""
        for theirs, mapped in self.spellings.get(ours, {}).items():
            if mapped == value:
                return theirs
        return value

    def answer_name(self, key: str) -> str:
        return self.answer_names.get(key, key)

    def status_word(self, status: str) -> str:
        return self.statuses.get(status, status)


@dataclass(frozen=True)
class MappedCall:
    """A seller's names and values, turned into ours."""

    #: our names (fields and control names) → values, in the order sent
    data: dict[str, object]
    #: our name → the seller's name it came under (for naming errors)
    sent_as: dict[str, str]
    #: (the seller's name, message, type) of each name it sent twice
    errors: list[tuple[str, str, str]]


def to_ours(profile: InboundProfile, pairs: Iterable[tuple[str, object]]) -> MappedCall:
    """The seller's (name, value) pairs under our names, each value through the profile's
    value map. A name neither aliased nor ignored is kept as it is (the vertical's own
    name, or an unknown one the field check refuses by name). Two names that land on one
    of ours (``ZipCode`` and ``zip``) are an error at the second."""
    data: dict[str, object] = {}
    sent_as: dict[str, str] = {}
    errors: list[tuple[str, str, str]] = []
    for theirs, value in pairs:
        if theirs in profile.ignore:
            continue
        ours = profile.aliases.get(theirs, theirs)
        if ours in data:
            first = sent_as[ours]
            what = "sent more than once" if first == theirs else f"{first} was sent already"
            errors.append((theirs, what, "duplicate_field"))
            continue
        data[ours] = _mapped(profile.values.get(ours), value)
        sent_as[ours] = theirs
    return MappedCall(data, sent_as, errors)


def _mapped(table: Mapping[str, object] | None, value: object) -> object:
    if table is None or isinstance(value, bool) or not isinstance(value, str | int):
        return value
    return table.get(str(value).strip().casefold(), value)
