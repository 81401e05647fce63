"""A vertical as the domain sees it: its fields (names, types, PII, what a ping and a post
require), the values they normalize to, and the reasons a buyer may return its leads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pingtree.domain.dispositions import DEFAULT_DISPOSITIONS, DispositionCode
from pingtree.domain.quality_steps import QualityStep

__all__ = [
    "DEFAULT_RETURN_REASONS",
    "FieldSpec",
    "FieldType",
    "LeadValue",
    "Requirement",
    "ReturnReason",
    "Vertical",
]


#: A normalized field value. Dates are ``datetime.date``; money and decimals ``Decimal``.
LeadValue = str | int | Decimal | bool | dt.date


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    ENUM = "enum"
    EMAIL = "email"
    PHONE = "phone"
    ZIP = "zip"
    STATE = "state"
    IP = "ip"
    URL = "url"


class Requirement(StrEnum):
    """Whether a field must, may or must not appear at one stage (ping or post)."""

    REQUIRED = "required"
    OPTIONAL = "optional"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    pii: bool = False
    ping: Requirement = Requirement.OPTIONAL
    post: Requirement = Requirement.OPTIONAL
    label: str = ""
    #: allowed values of an ``enum`` field (compared after trimming, case-insensitively;
    #: normalized to the spelling given here)
    values: tuple[str, ...] = ()
    #: bounds for ``integer`` and ``decimal`` fields
    min: Decimal | None = None
    max: Decimal | None = None
    #: longest accepted text after normalization (strings, urls…)
    max_length: int = 255
    #: reports may group leads by this field's value (never a PII field)
    report_dimension: bool = False


@dataclass(frozen=True, slots=True)
class ReturnReason:
    """Why a buyer may return a lead; ``auto_approve`` approves the request at once."""

    code: str
    label: str
    auto_approve: bool = False


#: a vertical's return reasons unless it names its own
DEFAULT_RETURN_REASONS: tuple[ReturnReason, ...] = (
    ReturnReason("wrong_number", "Wrong or disconnected number"),
    ReturnReason("duplicate", "Duplicate of a lead already bought"),
    ReturnReason("no_consent", "The consumer did not ask to be contacted"),
    ReturnReason("fake", "Fake or fraudulent information"),
    ReturnReason("out_of_area", "Outside the area the order buys"),
    ReturnReason("other", "Other (say why in the comment)"),
)


@dataclass(frozen=True, slots=True)
class Vertical:
    id: str
    name: str
    #: the vertical's own fields followed by the tracking fields every vertical inherits
    fields: tuple[FieldSpec, ...]
    #: what a buyer may report became of a lead (``domain.dispositions``)
    dispositions: tuple[DispositionCode, ...] = DEFAULT_DISPOSITIONS
    return_reasons: tuple[ReturnReason, ...] = DEFAULT_RETURN_REASONS
    #: the quality steps of its campaigns that name none of their own
    steps: tuple[QualityStep, ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None
