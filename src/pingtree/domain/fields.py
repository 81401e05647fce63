"""Field schemas: normalizing, validating and comparing a lead's fields.

Every value a seller sends passes through :func:`normalize_value` of its field before
anything else looks at it, so ping and post, filters and dedup all compare the same
spelling (phone to 10 digits, state to two capitals, zip to 5 digits, email lower-cased;
DESIGN §1, §8.2).

Errors::

    ValueError
    └── FieldValueError      one value does not fit its field (normalize_value)

:func:`validate_fields` does not raise for bad input: it collects every problem as a
:class:`FieldError`, pydantic's ``{loc, msg, type, input}`` shape, so one 4xx handler
serves both.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import urlsplit

from pingtree.domain.model import FieldSpec, FieldType, LeadValue, Requirement, Vertical

__all__ = [
    "TRACKING_FIELDS",
    "FieldError",
    "FieldValueError",
    "Stage",
    "Validated",
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


class FieldValueError(ValueError):
    """A value does not fit its field. ``type`` is the machine code, ``msg`` the human text."""

    def __init__(self, type: str, msg: str) -> None:
        super().__init__(msg)
        self.type = type
        self.msg = msg


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


# --- normalizing one value -------------------------------------------------------------

# Numbers are bounded to 30 digits before and after the point: far beyond any lead
# field, and it keeps int() and Decimal() of hostile text cheap.
_MAX_DIGITS = 30
# Every value must fit what stores it (DESIGN §9): an integer is kept as a JSON number,
# which the JSON encoder of both databases refuses past signed 64 bits; a decimal is kept
# as its text, within the 30 digits above; text may not hold NUL, which PostgreSQL refuses.
_MIN_INTEGER = -(2**63)
_MAX_INTEGER = 2**63 - 1
_INTEGER_RE = re.compile(r"[+-]?\d{1,30}")
_DECIMAL_RE = re.compile(r"[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})")
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_US_DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_PHONE_CHARS_RE = re.compile(r"\+?[\d\s().\-]+")
_NON_DIGIT_RE = re.compile(r"\D")
_ZIP_RE = re.compile(r"(\d{5})(?:-\d{4})?")
_EMAIL_LOCAL_RE = re.compile(r"[^\s@]+")
_DOMAIN_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_WHITESPACE_RE = re.compile(r"\s+")

_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})

# the 50 states, DC and Puerto Rico: code=name
_STATE_TABLE = (
    "AL=Alabama|AK=Alaska|AZ=Arizona|AR=Arkansas|CA=California|CO=Colorado|"
    "CT=Connecticut|DE=Delaware|DC=District of Columbia|FL=Florida|GA=Georgia|HI=Hawaii|"
    "ID=Idaho|IL=Illinois|IN=Indiana|IA=Iowa|KS=Kansas|KY=Kentucky|LA=Louisiana|ME=Maine|"
    "MD=Maryland|MA=Massachusetts|MI=Michigan|MN=Minnesota|MS=Mississippi|MO=Missouri|"
    "MT=Montana|NE=Nebraska|NV=Nevada|NH=New Hampshire|NJ=New Jersey|NM=New Mexico|"
    "NY=New York|NC=North Carolina|ND=North Dakota|OH=Ohio|OK=Oklahoma|OR=Oregon|"
    "PA=Pennsylvania|PR=Puerto Rico|RI=Rhode Island|SC=South Carolina|SD=South Dakota|"
    "TN=Tennessee|TX=Texas|UT=Utah|VT=Vermont|VA=Virginia|WA=Washington|WV=West Virginia|"
    "WI=Wisconsin|WY=Wyoming"
)
_STATES = dict(entry.split("=") for entry in _STATE_TABLE.split("|"))
_STATE_BY_NAME = {name.casefold(): code for code, name in _STATES.items()}

_MAX_EMAIL_LENGTH = 254


def _text(spec: FieldSpec, raw: object) -> str:
    """Trimmed text of a text-like value; JSON numbers are accepted as their digits."""
    if isinstance(raw, str):
        if "\x00" in raw:
            raise FieldValueError("invalid_characters", "must not contain NUL characters")
        return raw.strip()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise FieldValueError("string_type", "must be a string")


def _check_length(spec: FieldSpec, text: str) -> str:
    if len(text) > spec.max_length:
        raise FieldValueError("too_long", f"must be at most {spec.max_length} characters")
    return text


def _check_bounds(spec: FieldSpec, number: int | Decimal) -> None:
    if spec.min is not None and number < spec.min:
        raise FieldValueError("too_small", f"must be at least {spec.min}")
    if spec.max is not None and number > spec.max:
        raise FieldValueError("too_large", f"must be at most {spec.max}")


def _string(spec: FieldSpec, raw: object) -> str:
    return _check_length(spec, _text(spec, raw))


def _integer(spec: FieldSpec, raw: object) -> int:
    bad = FieldValueError("invalid_integer", "must be a whole number")
    number: int
    if isinstance(raw, bool):
        raise bad
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, float | Decimal):
        # a JSON 42.0 is still 42; 42.5 is not an integer
        if not _finite(raw) or raw != int(raw):
            raise bad
        number = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if not _INTEGER_RE.fullmatch(text):
            raise bad
        number = int(text)
    else:
        raise bad
    if not _MIN_INTEGER <= number <= _MAX_INTEGER:
        raise FieldValueError(
            "integer_out_of_range",
            f"must be a 64-bit whole number, from {_MIN_INTEGER} to {_MAX_INTEGER}",
        )
    _check_bounds(spec, number)
    return number


def _finite(number: float | Decimal) -> bool:
    if isinstance(number, Decimal):
        return number.is_finite()
    return number == number and number not in (float("inf"), float("-inf"))


def _decimal(spec: FieldSpec, raw: object) -> Decimal:
    bad = FieldValueError("invalid_decimal", "must be a decimal number such as 12.50")
    number: Decimal
    if isinstance(raw, bool):
        raise bad
    if isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, int):
        number = Decimal(raw)
    elif isinstance(raw, float):
        # str() gives the shortest text that reads back as the same float: 0.1 → "0.1"
        number = Decimal(str(raw))
    elif isinstance(raw, str):
        text = raw.strip()
        if not _DECIMAL_RE.fullmatch(text):
            raise bad
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
            raise bad from None
    else:
        raise bad
    if not number.is_finite():
        raise bad
    # the same bound on values that did not come as text (floats, Decimals), so that
    # the JSON form of every accepted value reads back
    _, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or max(len(digits) + exponent, -exponent) > _MAX_DIGITS:
        raise bad
    _check_bounds(spec, number)
    return number


def _boolean(spec: FieldSpec, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise FieldValueError("invalid_boolean", "must be true or false")


def _date(spec: FieldSpec, raw: object) -> dt.date:
    bad = FieldValueError("invalid_date", "must be a date as YYYY-MM-DD or MM/DD/YYYY")
    # a datetime is a date too, but which day it falls on depends on a time zone
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if not isinstance(raw, str):
        raise bad
    text = raw.strip()
    if match := _ISO_DATE_RE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _US_DATE_RE.fullmatch(text):
        month, day, year = match.groups()
    else:
        raise bad
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise bad from None


def _enum(spec: FieldSpec, raw: object) -> str:
    text = _text(spec, raw).casefold()
    for allowed in spec.values:
        if allowed.casefold() == text:
            return allowed
    raise FieldValueError("invalid_enum", "must be one of: " + ", ".join(spec.values))


def _email(spec: FieldSpec, raw: object) -> str:
    text = _text(spec, raw).lower()
    local, at, domain = text.partition("@")
    labels = domain.split(".")
    if (
        not at
        or not _EMAIL_LOCAL_RE.fullmatch(local)
        or len(labels) < 2
        or not all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels)
    ):
        raise FieldValueError("invalid_email", "must be an email address")
    if len(text) > min(spec.max_length, _MAX_EMAIL_LENGTH):
        raise FieldValueError(
            "too_long", f"must be at most {min(spec.max_length, _MAX_EMAIL_LENGTH)} characters"
        )
    return text


def _phone_digits(text: str) -> str | None:
    """The 10 NANP digits of a formatted US phone number, or ``None``."""
    if not _PHONE_CHARS_RE.fullmatch(text):
        return None
    digits = _NON_DIGIT_RE.sub("", text)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
        return None
    return digits


def _phone(spec: FieldSpec, raw: object) -> str:
    digits = _phone_digits(_text(spec, raw))
    if digits is None:
        raise FieldValueError("invalid_phone", "must be a 10-digit US phone number")
    return digits


def _zip(spec: FieldSpec, raw: object) -> str:
    match = _ZIP_RE.fullmatch(_text(spec, raw))
    if match is None:
        raise FieldValueError("invalid_zip", "must be a US zip code (12345 or 12345-6789)")
    return match.group(1)


def _state(spec: FieldSpec, raw: object) -> str:
    text = _text(spec, raw)
    code = text.upper()
    if code in _STATES:
        return code
    by_name = _STATE_BY_NAME.get(_WHITESPACE_RE.sub(" ", text).casefold())
    if by_name is None:
        raise FieldValueError("invalid_state", "must be a US state code such as FL")
    return by_name


def _ip(spec: FieldSpec, raw: object) -> str:
    try:
        return str(ipaddress.ip_address(_text(spec, raw)))
    except ValueError:
        raise FieldValueError("invalid_ip", "must be an IPv4 or IPv6 address") from None


def _url(spec: FieldSpec, raw: object) -> str:
    text = _text(spec, raw)
    bad = FieldValueError("invalid_url", "must be an http or https URL")
    if _WHITESPACE_RE.search(text):
        raise bad
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        raise bad from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise bad
    return _check_length(spec, text)


_NORMALIZERS: dict[FieldType, Callable[[FieldSpec, object], LeadValue]] = {
    FieldType.STRING: _string,
    FieldType.INTEGER: _integer,
    FieldType.DECIMAL: _decimal,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.ENUM: _enum,
    FieldType.EMAIL: _email,
    FieldType.PHONE: _phone,
    FieldType.ZIP: _zip,
    FieldType.STATE: _state,
    FieldType.IP: _ip,
    FieldType.URL: _url,
}


def normalize_value(spec: FieldSpec, raw: object) -> LeadValue:
    """The normalized value of ``raw`` for the field ``spec``.

    Values may arrive as strings (form posts) or as JSON scalars. Normalizing an already
    normalized value returns it unchanged. ``None`` and empty text are not values: callers
    treat them as absent before calling (an empty string fails every type but ``string``).

    Raises :class:`FieldValueError` (with ``.type`` such as ``invalid_phone``,
    ``too_long``, ``too_small``) when the value does not fit the field.
    """
    return _NORMALIZERS[spec.type](spec, raw)


# --- validating a request's fields -----------------------------------------------------

# A whole value that is an email address or a US phone number (separators allowed).
_LOOKS_LIKE_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_LOOKS_LIKE_PHONE_RE = re.compile(r"\+?[\s().\-]*(?:\d[\s().\-]*){10,11}")


def _looks_like_pii(text: str) -> bool:
    return bool(_LOOKS_LIKE_EMAIL_RE.fullmatch(text) or _LOOKS_LIKE_PHONE_RE.fullmatch(text))


def _is_absent(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


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

    ``None``, empty and blank text count as absent. Errors (``loc`` + the field name):
    ``unknown_field`` for a name the vertical does not define, ``missing`` for a field
    required at ``stage`` that is absent, and the :class:`FieldValueError` type of each
    value that does not fit. A field in error is left out of ``values``.

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
