"""Field schemas: validating a request's fields, their JSON form, comparing ping and post.

Every value a seller sends passes through :func:`normalize_value` of its field
(``domain.field_types``, re-exported here) before anything else looks at it, so ping and
post, filters and dedup all compare the same spelling (phone to 10 ASCII digits, state to
two capitals, zip to 5 digits, email canonical, text without control or invisible
characters; DESIGN §1, §8.2).

Errors::

    ValueError
    └── FieldValueError      one value does not fit its field (normalize_value)

:func:`validate_fields` does not raise for bad input: it collects every problem as a
:class:`FieldError`, pydantic's ``{loc, msg, type, input}`` shape, so one 4xx handler
serves both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pingtree.domain.field_types import (
    FieldValueError,
    canonical_email,
    canonical_phone,
    normalize_value,
)
from pingtree.domain.text import is_blank
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue, Requirement, Vertical

__all__ = [
    "TRACKING_FIELDS",
    "FieldError",
    "FieldValueError",
    "Stage",
    "Validated",
    "canonical_email",
    "canonical_phone",
    "mismatched_fields",
    "normalize_value",
    "pii_field_names",
    "to_json_value",
    "validate_fields",
    "values_from_json",
    "values_to_json",
    "with_tracking_fields",
]


class Stage(StrEnum):
    """Which request a lead's fields arrive in; requirements differ per stage."""

    PING = "ping"
    POST = "post"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One input problem, in pydantic's error shape.

    ``input`` is the offending value for non-PII fields and ``None`` otherwise (and for
    unknown fields, which may hold anything), so errors can be logged safely.
    """

    loc: tuple[str | int, ...]
    msg: str
    type: str
    input: object = None


@dataclass(frozen=True, slots=True)
class Validated:
    """The outcome of :func:`validate_fields`.

    ``values`` holds the normalized values of the fields that were present and valid;
    ``errors`` every problem found; ``pii_in_ping`` (ping stage only) the names of fields
    that carried PII, whose values are dropped. PII in a ping is a business outcome
    (``pii_in_ping``), not an input error.
    """

    values: dict[str, LeadValue]
    errors: tuple[FieldError, ...]
    pii_in_ping: tuple[str, ...] = ()


#: Fields every vertical inherits (DESIGN §8.2), optional at both stages.
TRACKING_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("sub_id", FieldType.STRING, label="Sub id"),
    FieldSpec("sub_id2", FieldType.STRING, label="Sub id 2"),
    FieldSpec("sub_id3", FieldType.STRING, label="Sub id 3"),
    FieldSpec("click_id", FieldType.STRING, label="Click id"),
    FieldSpec("utm_source", FieldType.STRING, label="UTM source"),
    FieldSpec("utm_medium", FieldType.STRING, label="UTM medium"),
    FieldSpec("utm_campaign", FieldType.STRING, label="UTM campaign"),
    FieldSpec("utm_term", FieldType.STRING, label="UTM term"),
    FieldSpec("utm_content", FieldType.STRING, label="UTM content"),
    FieldSpec("source_url", FieldType.URL, label="Source URL", max_length=2048),
    FieldSpec("user_agent", FieldType.STRING, label="User agent", max_length=1024),
    FieldSpec("ip_address", FieldType.IP, pii=True, label="IP address"),
    FieldSpec("consent_text", FieldType.STRING, label="Consent text", max_length=8192),
    FieldSpec("consent_at", FieldType.STRING, label="Consent time", max_length=64),
    FieldSpec("trusted_form_cert_id", FieldType.STRING, label="TrustedForm certificate"),
    FieldSpec("jornaya_lead_id", FieldType.STRING, label="Jornaya LeadiD"),
    FieldSpec("lead_ref", FieldType.STRING, label="Seller's lead reference"),
)

_TRACKING_NAMES = frozenset(spec.name for spec in TRACKING_FIELDS)


def with_tracking_fields(fields: Sequence[FieldSpec]) -> tuple[FieldSpec, ...]:
    """The vertical's own ``fields`` followed by :data:`TRACKING_FIELDS`.

    Raises ``ValueError`` naming the field when a vertical redefines a tracking field or
    defines one name twice.
    """
    seen: set[str] = set()
    for spec in fields:
        if spec.name in _TRACKING_NAMES:
            raise ValueError(f"field {spec.name!r} is a tracking field and cannot be redefined")
        if spec.name in seen:
            raise ValueError(f"field {spec.name!r} is defined twice")
        seen.add(spec.name)
    return (*fields, *TRACKING_FIELDS)


def pii_field_names(vertical: Vertical) -> frozenset[str]:
    """Names of the vertical's PII fields (tracking fields included)."""
    return frozenset(spec.name for spec in vertical.fields if spec.pii)


# --- validating a request's fields -----------------------------------------------------

# A whole value that is an email address or a US phone number (separators allowed).
_LOOKS_LIKE_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_LOOKS_LIKE_PHONE_RE = re.compile(r"\+?[\s().\-]*(?:\d[\s().\-]*){10,11}")


def _looks_like_pii(text: str) -> bool:
    return bool(_LOOKS_LIKE_EMAIL_RE.fullmatch(text) or _LOOKS_LIKE_PHONE_RE.fullmatch(text))


def _is_absent(raw: object) -> bool:
    # a value of zero-width characters only is as absent as an empty one
    return raw is None or (isinstance(raw, str) and is_blank(raw))


def _required(spec: FieldSpec, stage: Stage) -> bool:
    requirement = spec.ping if stage is Stage.PING else spec.post
    return requirement is Requirement.REQUIRED


def validate_fields(
    vertical: Vertical,
    raw: Mapping[str, object],
    stage: Stage,
    loc: tuple[str | int, ...] = ("body", "fields"),
) -> Validated:
    """Normalize a request's fields against the vertical's schema, collecting every problem.

    ``None``, empty and blank text (whitespace and format characters only) count as
    absent. Errors (``loc`` + the field name): ``unknown_field`` for a name the vertical
    does not define, ``missing`` for a field required at ``stage`` that is absent, and the
    :class:`FieldValueError` type of each value that does not fit. A field in error is
    left out of ``values``.

    At the ping stage, PII fields that were sent, and non-PII ``string`` fields whose whole
    value looks like an email address or a phone number, are listed in ``pii_in_ping``
    (not errors) and their values dropped; they are not checked further.
    """
    specs = {spec.name: spec for spec in vertical.fields}
    values: dict[str, LeadValue] = {}
    errors: list[FieldError] = []
    pii: list[str] = []
    sent: set[str] = set()
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None:
            errors.append(FieldError((*loc, name), "unknown field", "unknown_field"))
            continue
        if _is_absent(value):
            continue
        sent.add(name)
        if stage is Stage.PING and spec.pii:
            pii.append(name)
            continue
        try:
            normalized = normalize_value(spec, value)
        except FieldValueError as exc:
            errors.append(FieldError((*loc, name), exc.msg, exc.type, None if spec.pii else value))
            continue
        if (
            stage is Stage.PING
            and spec.type is FieldType.STRING
            and isinstance(normalized, str)
            and _looks_like_pii(normalized)
        ):
            pii.append(name)
            continue
        values[name] = normalized
    for spec in vertical.fields:
        if spec.name not in sent and _required(spec, stage):
            errors.append(FieldError((*loc, spec.name), "field required", "missing"))
    return Validated(values=values, errors=tuple(errors), pii_in_ping=tuple(pii))


# --- JSON form and comparison ----------------------------------------------------------


def to_json_value(value: LeadValue) -> str | int | bool:
    """A normalized value as JSON: decimals as text without exponent (``"12.50"``), dates ISO."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def values_to_json(values: Mapping[str, LeadValue]) -> dict[str, str | int | bool]:
    """Every value through :func:`to_json_value`."""
    return {name: to_json_value(value) for name, value in values.items()}


def values_from_json(vertical: Vertical, data: Mapping[str, object]) -> dict[str, LeadValue]:
    """The inverse of :func:`values_to_json`: each known field through :func:`normalize_value`.

    Names the vertical does not define, and ``None`` values, are dropped. Raises
    :class:`FieldValueError` when a stored value no longer fits its field.
    """
    specs = {spec.name: spec for spec in vertical.fields}
    values: dict[str, LeadValue] = {}
    for name, value in data.items():
        spec = specs.get(name)
        if spec is not None and value is not None:
            values[name] = normalize_value(spec, value)
    return values


def mismatched_fields(
    ping_values: Mapping[str, LeadValue], post_values: Mapping[str, LeadValue]
) -> tuple[str, ...]:
    """Sorted names of fields present in both whose normalized values differ.

    A field only in one of them is not a mismatch (a post may omit pinged fields).
    """
    return tuple(
        sorted(
            name
            for name, value in post_values.items()
            if name in ping_values and ping_values[name] != value
        )
    )
