"""Lead values on the wire: value maps, formats and ``as`` conversions (pure).

A wire value is ``str``, ``int``, ``Decimal`` or ``bool``: what one field of a buyer's
body holds before its encoder (orjson, urlencode, lxml) writes it. Each ``as`` kind and
each phone format is a small function in a registry, so a new kind is one entry.

Errors: conversions raise :class:`ValueError` with a message naming the kind, never the
value (it may be PII); the caller turns it into a ``RenderError`` naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

__all__ = [
    "AS_KINDS",
    "DATE_DIRECTIVES",
    "PHONE_FORMATS",
    "WireValue",
    "check_date_format",
    "format_value",
    "to_text",
]

#: a value as one field of a request body holds it, before its encoder writes it
WireValue = str | int | Decimal | bool

_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def to_text(value: WireValue | dt.date) -> str:
    """The canonical text of a value: booleans ``true``/``false``, decimals in plain
    notation (never ``1E+2``), dates ISO (``2026-03-01``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- as: the type a buyer wants ------------------------------------------------------------


def _as_bool(value: WireValue | dt.date) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("not a yes/no value")


def _as_integer(value: WireValue | dt.date) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise ValueError("not a whole number")
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError("not an integer")


def _as_decimal(value: WireValue | dt.date) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if value.is_finite():
            return value
        raise ValueError("not a finite number")
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise ValueError("not a number") from None
    raise ValueError("not a number")


def _as_string(value: WireValue | dt.date) -> str:
    return to_text(value)


#: ``as:`` kinds: the type a buyer wants a value in. ``integer``, ``decimal``,
#: ``boolean`` and ``one_zero`` are numbers/booleans in JSON and text elsewhere.
AS_KINDS: Mapping[str, Callable[[WireValue | dt.date], WireValue]] = {
    "string": _as_string,
    "integer": _as_integer,
    "decimal": _as_decimal,
    "boolean": _as_bool,
    "yn": lambda value: "Y" if _as_bool(value) else "N",
    "yes_no": lambda value: "Yes" if _as_bool(value) else "No",
    "one_zero": lambda value: 1 if _as_bool(value) else 0,
}


# --- format: dates and phones ----------------------------------------------------------------


def _phone_digits(value: WireValue | dt.date) -> str:
    if not isinstance(value, str):
        raise ValueError("not a phone number")
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise ValueError("not a 10-digit phone number")
    return digits


def _phone(render: Callable[[str, str, str], str]) -> Callable[[WireValue | dt.date], str]:
    def format_phone(value: WireValue | dt.date) -> str:
        digits = _phone_digits(value)
        return render(digits[:3], digits[3:6], digits[6:])

    return format_phone


#: phone formats for a 10-digit (NANP) number: ``3055550142``, ``305-555-0142``,
#: ``305.555.0142``, ``+13055550142``, ``(305) 555-0142``
PHONE_FORMATS: Mapping[str, Callable[[WireValue | dt.date], str]] = {
    "digits": _phone(lambda a, b, c: f"{a}{b}{c}"),
    "dashed": _phone(lambda a, b, c: f"{a}-{b}-{c}"),
    "dotted": _phone(lambda a, b, c: f"{a}.{b}.{c}"),
    "e164": _phone(lambda a, b, c: f"+1{a}{b}{c}"),
    "parens": _phone(lambda a, b, c: f"({a}) {b}-{c}"),
}

#: strftime directives a date format may use (locale-independent ones only, plus ``%%``)
DATE_DIRECTIVES = frozenset("Ymdyj%")
_DIRECTIVE = re.compile(r"%(.)", re.DOTALL)


def check_date_format(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable date format, or ``None`` when it is.

    A date format holds ``%`` directives among ``%Y %m %d %y %j %%``; month and day names
    are left out because they depend on the locale (use a value map for them).
    """
    if "%" not in pattern:
        return "a date format holds % directives (%Y, %m, %d…); phones use " + ", ".join(
            PHONE_FORMATS
        )
    if pattern.endswith("%") and not pattern.endswith("%%"):
        return "a date format cannot end with a lone %"
    for match in _DIRECTIVE.finditer(pattern):
        if match.group(1) not in DATE_DIRECTIVES:
            return f"unsupported date directive %{match.group(1)} (use %Y %m %d %y %j %%)"
    return None


def _format_date(pattern: str, value: WireValue | dt.date) -> str:
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("not a date") from None
    else:
        raise ValueError("not a date")
    return day.strftime(pattern)


def format_value(fmt: str, value: WireValue | dt.date) -> str:
    """``value`` in ``fmt``: a phone format name of :data:`PHONE_FORMATS`, or a date
    pattern accepted by :func:`check_date_format`. A date may be a ``date`` or ISO text.

    Raises ``ValueError`` (no value in the message) when the value does not fit.
    """
    phone = PHONE_FORMATS.get(fmt)
    if phone is not None:
        return phone(value)
    return _format_date(fmt, value)
