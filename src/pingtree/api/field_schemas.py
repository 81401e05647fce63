"""A vertical's fields as JSON Schema (OpenAPI 3.1), one object schema per stage.

Each field gets its JSON type, format, pattern, bounds, length and allowed values as its
:class:`~pingtree.domain.verticals.FieldSpec` says, so a seller's code (or a fuzzer) can be
generated from the document and a value the schema admits is one the normalizers accept.
The schema describes the canonical spelling; the normalizers are more lenient (numbers
and booleans as text, a state's name, a phone number's punctuation), which the
descriptions say.

A ping's schema leaves PII fields out (a ping carrying one is answered ``pii_in_ping``) and
marks required what the vertical requires in a ping plus the campaign's required ping
fields; a post's marks required what the vertical requires in a post. An optional field may
be ``null``: an absent value.
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pingtree.domain.fields import Stage, normalize_value
from pingtree.domain.verticals import FieldSpec, FieldType, Requirement, Vertical

__all__ = ["field_schema", "fields_schema"]

#: what both databases' JSON keeps of an integer (the normalizer's bound too)
_MIN_INTEGER = -(2**63)
_MAX_INTEGER = 2**63 - 1
#: a decimal holds at most 30 digits before the point
_DECIMAL_BOUND = Decimal(10) ** 30 - 1

# Text with no control character but tab, line feed and carriage return (C0, DEL, C1),
# holding at least one character that is not whitespace: blank text counts as absent.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_TEXT = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"
_DECIMAL_TEXT = r"^[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})$"
# years 1900 to 2199: a lead's dates are births, policies and moves
_DATE = r"^(?:19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
_EMAIL = (
    r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# a US (NANP) number: area code and exchange do not start with 0 or 1
_PHONE = r"^(?:\+?1[ .-]?)?(?:\([2-9][0-9]{2}\)|[2-9][0-9]{2})[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4}$"
_ZIP = r"^[0-9]{5}(?:-[0-9]{4})?$"
_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$"
_MAX_EMAIL_LENGTH = 254


def fields_schema(
    vertical: Vertical, stage: Stage, required: Iterable[str] = (), *, nullable: bool = True
) -> dict[str, Any]:
    """The object schema of a request's ``fields`` at ``stage``.

    ``required`` adds names to those the vertical requires at the stage (a campaign's
    required ping fields); a name the schema does not hold (a PII field in a ping) is left
    out. Unknown names are refused (``additionalProperties: false``), as the API does.
    ``nullable``: optional fields admit ``null`` (JSON; a form has no null).
    """
    specs = [s for s in vertical.fields if not (stage is Stage.PING and s.pii)]
    extra = set(required)
    names = [s.name for s in specs if _requirement(s, stage) is Requirement.REQUIRED]
    names += [s.name for s in specs if s.name in extra and s.name not in names]
    return {
        "type": "object",
        "properties": {
            s.name: field_schema(s, nullable=nullable and s.name not in names) for s in specs
        },
        "required": names,
        "additionalProperties": False,
    }


def field_schema(spec: FieldSpec, *, nullable: bool = False) -> dict[str, Any]:
    """One field's schema, with its label and what the API also accepts in its
    description; ``nullable``: ``null`` too (an absent value)."""
    schema = {**_TYPES[spec.type](spec), "title": spec.label or spec.name}
    notes = [_LENIENT[spec.type]] if spec.type in _LENIENT else []
    if spec.pii:
        schema["x-pii"] = True
        notes.append("personal data: never sent in a ping, sent only to the buyer who wins")
    if notes:
        schema["description"] = "; ".join(notes)
    if not nullable:
        return schema
    return {"anyOf": [schema, {"type": "null"}], "title": schema["title"]} | (
        {"description": schema["description"] + "; null: absent"}
        if "description" in schema
        else {"description": "null: absent"}
    )


def _requirement(spec: FieldSpec, stage: Stage) -> Requirement:
    return spec.ping if stage is Stage.PING else spec.post


def _text(spec: FieldSpec) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": spec.max_length, "pattern": _TEXT}


def _integer(spec: FieldSpec) -> dict[str, Any]:
    low = _MIN_INTEGER if spec.min is None else max(_MIN_INTEGER, math.ceil(spec.min))
    high = _MAX_INTEGER if spec.max is None else min(_MAX_INTEGER, math.floor(spec.max))
    return {"type": "integer", "minimum": low, "maximum": high}


def _decimal(spec: FieldSpec) -> dict[str, Any]:
    # the text form is the exact one (a JSON number is a float to most clients); its
    # bounds cannot be said in a pattern, so they are the number form's
    low = -_DECIMAL_BOUND if spec.min is None else spec.min
    high = _DECIMAL_BOUND if spec.max is None else spec.max
    return {
        "type": "string",
        "pattern": _DECIMAL_TEXT,
        "x-minimum": format(low, "f"),
        "x-maximum": format(high, "f"),
    }


def _enum(spec: FieldSpec) -> dict[str, Any]:
    return {"type": "string", "enum": list(spec.values)}


def _string_of(pattern: str, **more: Any) -> Any:
    def schema(spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "pattern": pattern, **more}

    return schema


def _email(spec: FieldSpec) -> dict[str, Any]:
    longest = min(spec.max_length, _MAX_EMAIL_LENGTH)
    return {"type": "string", "format": "email", "pattern": _EMAIL, "maxLength": longest}


def _state(spec: FieldSpec) -> dict[str, Any]:
    return {"type": "string", "enum": list(_state_codes())}


def _url(spec: FieldSpec) -> dict[str, Any]:
    return {"type": "string", "format": "uri", "pattern": _URL, "maxLength": spec.max_length}


@functools.cache
def _state_codes() -> tuple[str, ...]:
    """The two-letter codes the state normalizer accepts, asked of the normalizer itself
    so the document never disagrees with it."""
    probe = FieldSpec("state", FieldType.STATE)
    codes = []
    for first in string.ascii_uppercase:
        for second in string.ascii_uppercase:
            try:
                codes.append(str(normalize_value(probe, first + second)))
            except ValueError:
                continue
    return tuple(sorted(set(codes)))


_TYPES: dict[FieldType, Any] = {
    FieldType.STRING: _text,
    FieldType.INTEGER: _integer,
    FieldType.DECIMAL: _decimal,
    FieldType.BOOLEAN: lambda spec: {"type": "boolean"},
    FieldType.DATE: _string_of(_DATE, format="date"),
    FieldType.ENUM: _enum,
    FieldType.EMAIL: _email,
    FieldType.PHONE: _string_of(_PHONE),
    FieldType.ZIP: _string_of(_ZIP),
    FieldType.STATE: _state,
    FieldType.IP: lambda spec: {
        "type": "string",
        "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}],
    },
    FieldType.URL: _url,
}

_LENIENT: dict[FieldType, str] = {
    FieldType.STRING: "trimmed; at most maxLength characters once normalized (NFKC)",
    FieldType.INTEGER: "text of the number is accepted too",
    FieldType.DECIMAL: (
        'a decimal number as text such as "12.50", from x-minimum to x-maximum; a JSON'
        " number with at most 15 significant digits is accepted too"
    ),
    FieldType.BOOLEAN: '"true"/"false", "yes"/"no", "y"/"n", 1/0 are accepted too',
    FieldType.DATE: "MM/DD/YYYY is accepted too",
    FieldType.ENUM: "compared case-insensitively",
    FieldType.EMAIL: "lower-cased",
    FieldType.PHONE: "a 10-digit US number; kept as its 10 digits",
    FieldType.ZIP: "a +4 suffix is dropped",
    FieldType.STATE: "the state's name is accepted too",
    FieldType.IP: "kept in its compressed form",
}
