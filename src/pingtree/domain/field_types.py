"""Field types: one normalizer per type, so every value has one spelling and fits its store.

Every value a seller sends passes through :func:`normalize_value` of its field before
anything else looks at it, so ping and post, filters, dedup and buyers all see the same
spelling (DESIGN §1, §8.2). Text first goes through :func:`pingtree.domain.text.clean_text`:
format characters (zero-width, bidi marks and overrides, BOM) removed, control characters
but tab/line feed/carriage return refused, NFKC, trimmed. Then, per type:

==========  ============================================================================
string      cleaned text; tab and line breaks kept inside (free text has lines);
            at most ``max_length`` characters
integer     whole number, Unicode digits read as ASCII; always within signed 64 bits
            (what both databases' JSON keeps), then the field's ``min``/``max``; a JSON
            number past 2**53 with a fraction part is refused (it is no longer exact)
decimal     at most 30 digits before and 30 after the point (kept as its text); a JSON
            number (a float) may carry at most 15 significant digits, what a float keeps
            exactly: a longer one is refused, to be sent as text, never silently rounded
boolean     true/false, yes/no, y/n, 1/0
date        YYYY-MM-DD or MM/DD/YYYY, years 1900 to 2199 (a lead's dates are births,
            policies and moves; a year 0019 is a typo)
enum        one of the field's values, compared case-insensitively
email       :func:`canonical_email`: cleaned (a zero-width or bidi character cannot make a
            second person of one), lower-cased whole, ASCII domain labels, ≤ 254 characters
phone       :func:`canonical_phone`: the 10 digits of a US number, ASCII whatever digits
            were sent (``٣٠٥٥٥٥٠١٤٢`` and ``３０５-５５５-０１４２`` are ``3055550142``)
zip         the 5 ASCII digits of a US zip (a +4 suffix is dropped)
state       the two-letter code of a state, DC or Puerto Rico, by code or name
ip          an IPv4 or IPv6 address in its compressed form
url         an http(s) URL with a host and no whitespace
==========  ============================================================================

Digits are converted rather than refused: a form in an Arabic or Persian locale sends the
same phone number in its own digits, and it is the same consumer (dedup must see it so).

Errors::

    ValueError
    └── FieldValueError      one value does not fit its field (normalize_value,
                             canonical_email, canonical_phone); ``type`` such as
                             ``invalid_phone``, ``invalid_characters``, ``too_long``
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from pingtree.domain.text import TextError, ascii_digits, clean_text
from pingtree.domain.verticals import FieldSpec, FieldType, LeadValue

__all__ = ["FieldValueError", "canonical_email", "canonical_phone", "normalize_value"]


class FieldValueError(ValueError):
    """A value does not fit its field. ``type`` is the machine code, ``msg`` the human text."""

    def __init__(self, type: str, msg: str) -> None:
        super().__init__(msg)
        self.type = type
        self.msg = msg


# Numbers are bounded to 30 digits before and after the point: far beyond any lead
# field, and it keeps int() and Decimal() of hostile text cheap.
_MAX_DIGITS = 30
# Every value must fit what stores it (DESIGN §9): an integer is kept as a JSON number,
# which the JSON encoder of both databases refuses past signed 64 bits; a decimal is kept
# as its text, within the 30 digits above.
_MIN_INTEGER = -(2**63)
_MAX_INTEGER = 2**63 - 1
#: a float is exact for whole numbers up to 2**53 and to 15 significant digits
_EXACT_FLOAT_INTEGER = 2**53
_EXACT_FLOAT_DIGITS = 15
_FIRST_DATE = dt.date(1900, 1, 1)
_LAST_DATE = dt.date(2199, 12, 31)
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,30}")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})")
_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_US_DATE_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_PHONE_CHARS_RE = re.compile(r"\+?[0-9\s().\-]+")
_NON_DIGIT_RE = re.compile(r"[^0-9]")
_ZIP_RE = re.compile(r"([0-9]{5})(?:-[0-9]{4})?")
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


# --- the consumer's identity: what dedup and erasure key on ----------------------------


def canonical_email(text: str) -> str:
    """The one spelling of an email address: cleaned (see :mod:`pingtree.domain.text`),
    lower-cased, checked.

    Two addresses a person cannot tell apart have one canonical form, so it is what dedup
    hashes and what erasing a person looks up. The local part is lower-cased too, as lead
    platforms and mail providers treat it; dots and ``+tags`` are kept (they may be
    another mailbox).

    Raises :class:`FieldValueError`: ``invalid_characters`` (a control character),
    ``invalid_email`` (not ``local@domain.tld`` with ASCII domain labels), ``too_long``
    (past 254 characters).
    """
    email = _clean(text).lower()
    local, at, domain = email.partition("@")
    labels = domain.split(".")
    if (
        not at
        or not _EMAIL_LOCAL_RE.fullmatch(local)
        or len(labels) < 2
        or not all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels)
    ):
        raise FieldValueError("invalid_email", "must be an email address")
    if len(email) > _MAX_EMAIL_LENGTH:
        raise FieldValueError("too_long", f"must be at most {_MAX_EMAIL_LENGTH} characters")
    return email


def canonical_phone(text: str) -> str:
    """The one spelling of a US phone number: its 10 digits in ASCII (no country code).

    Separators (spaces, ``( ) . -``), a leading ``+1`` or ``1``, format characters and
    digits of any script are accepted: ``+1 (305) 555-0142``, ``٣٠٥٥٥٥٠١٤٢`` and
    ``３０５.５５５.０１４２`` are all ``3055550142``, for dedup, erasure and buyers alike.

    Raises :class:`FieldValueError`: ``invalid_characters`` (a control character),
    ``invalid_phone`` (not a valid NANP number: area code and exchange start 2-9).
    """
    digits = _phone_digits(ascii_digits(_clean(text)))
    if digits is None:
        raise FieldValueError("invalid_phone", "must be a 10-digit US phone number")
    return digits


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


# --- normalizing one value -------------------------------------------------------------


def _clean(text: str) -> str:
    try:
        return clean_text(text)
    except TextError as error:
        raise FieldValueError(error.type, error.msg) from None


def _text(spec: FieldSpec, raw: object) -> str:
    """Cleaned text of a text-like value; JSON numbers are accepted as their digits."""
    if isinstance(raw, str):
        return _clean(raw)
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
        text = ascii_digits(_clean(raw))
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
    if isinstance(raw, float) and abs(number) > _EXACT_FLOAT_INTEGER:
        # JSON parsers read 9007199254740993.0 as ...992: the seller's number is lost
        raise FieldValueError(
            "invalid_integer", "must be sent without a fraction part when past 2**53"
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
        significant = number.normalize().as_tuple().digits if number.is_finite() else ()
        if len(significant) > _EXACT_FLOAT_DIGITS:
            # a JSON number this long was rounded when it was read: send the text
            raise FieldValueError(
                "invalid_decimal",
                f"has more than {_EXACT_FLOAT_DIGITS} significant digits; send it as text",
            )
    elif isinstance(raw, str):
        text = ascii_digits(_clean(raw))
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
        text = ascii_digits(_clean(raw)).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise FieldValueError("invalid_boolean", "must be true or false")


def _date(spec: FieldSpec, raw: object) -> dt.date:
    bad = FieldValueError("invalid_date", "must be a date as YYYY-MM-DD or MM/DD/YYYY")
    # a datetime is a date too, but which day it falls on depends on a time zone
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        date = raw
    elif isinstance(raw, str):
        text = ascii_digits(_clean(raw))
        if match := _ISO_DATE_RE.fullmatch(text):
            year, month, day = match.groups()
        elif match := _US_DATE_RE.fullmatch(text):
            month, day, year = match.groups()
        else:
            raise bad
        try:
            date = dt.date(int(year), int(month), int(day))
        except ValueError:
            raise bad from None
    else:
        raise bad
    if not _FIRST_DATE <= date <= _LAST_DATE:
        raise FieldValueError("date_out_of_range", f"must be from {_FIRST_DATE} to {_LAST_DATE}")
    return date


def _enum(spec: FieldSpec, raw: object) -> str:
    text = _text(spec, raw).casefold()
    for allowed in spec.values:
        if allowed.casefold() == text:
            return allowed
    raise FieldValueError("invalid_enum", "must be one of: " + ", ".join(spec.values))


def _email(spec: FieldSpec, raw: object) -> str:
    email = canonical_email(_text(spec, raw))
    if len(email) > spec.max_length:
        raise FieldValueError("too_long", f"must be at most {spec.max_length} characters")
    return email


def _phone(spec: FieldSpec, raw: object) -> str:
    return canonical_phone(_text(spec, raw))


def _zip(spec: FieldSpec, raw: object) -> str:
    match = _ZIP_RE.fullmatch(ascii_digits(_text(spec, raw)))
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
    normalized value returns it unchanged. ``None`` and blank text are not values: callers
    treat them as absent before calling (an empty string fails every type but ``string``).

    Raises :class:`FieldValueError` (with ``.type`` such as ``invalid_phone``,
    ``invalid_characters``, ``too_long``, ``too_small``) when the value does not fit the
    field.
    """
    return _NORMALIZERS[spec.type](spec, raw)
