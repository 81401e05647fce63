"""Reading a seller's request body: bounded while reading, JSON or form, one shape.

Bodies are ``{fields, test?, ping_id?, meta?, api_key?, tmax_ms?}`` in JSON, or the same names
flat in a form, where every other name is a field (DESIGN §8.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.requests import Request

from pingtree.api.problems import Problem, field_problem

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_IDEMPOTENCY_KEY",
    "SellerBody",
    "envelope_body",
    "flat_body",
    "form_pairs",
    "read_bounded",
    "read_seller_body",
]

MAX_BODY_BYTES = 64 * 1024
#: the longest ``Idempotency-Key`` kept (the ``idempotency_key`` columns' width)
MAX_IDEMPOTENCY_KEY = 200

_TOP_LEVEL = frozenset({"fields", "test", "ping_id", "meta", "api_key", "tmax_ms"})
_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off", ""})
_DIGITS = re.compile(r"[+-]?[0-9]{1,18}")
_NOT_UTF8 = "{} is not valid UTF-8 once percent-decoded"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SellerBody:
    fields: Mapping[str, object]
    test: bool = False
    ping_id: str | None = None
    api_key: str | None = None
    tmax_ms: int | None = None
    meta: Mapping[str, object] = field(default_factory=dict)


async def read_bounded(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_seller_body(request: Request) -> SellerBody:
    raw = await read_bounded(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return envelope_body(raw)
    if content_type == "application/x-www-form-urlencoded":
        return _from_form(raw)
    raise Problem(415, "send application/json or application/x-www-form-urlencoded", "content_type")


def envelope_body(raw: bytes) -> SellerBody:
    """Our JSON envelope ``{fields, test?, ping_id?, meta?, api_key?, tmax_ms?}``."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Problem(400, f"the body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise field_problem(("body",), "must be a JSON object", "type_error", data)
    errors = [
        (("body", key), "unknown field; lead fields go under 'fields'", "unknown_field", data[key])
        for key in data
        if key not in _TOP_LEVEL
    ]
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        errors.append((("body", "fields"), "must be an object", "type_error", fields))
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        errors.append((("body", "meta"), "must be an object", "type_error", meta))
    test = _flag(data.get("test", False), errors)
    ping_id = _text(data, "ping_id", errors)
    api_key = _text(data, "api_key", errors)
    tmax = _tmax(data.get("tmax_ms"), errors)
    if errors:
        raise Problem.from_errors(errors)
    return SellerBody(fields, test, ping_id, api_key, tmax, meta)


def _from_form(raw: bytes) -> SellerBody:
    errors: list[tuple[tuple[str | int, ...], str, str, object]] = []
    pairs = form_pairs(raw, errors)
    data: dict[str, str] = {}
    for name, value in pairs:
        if name in data:
            errors.append((("body", name), "sent more than once", "duplicate_field", value))
        data[name] = value
    return flat_body(data, errors)


def flat_body(data: Mapping[str, object], errors: list[Any]) -> SellerBody:
    """A body whose names are flat (a form's, or a seller's own once its names are ours):
    the envelope's names, ``meta.NAME`` for meta, every other name a field. Raises the
    :class:`Problem` of ``errors`` and of what is wrong here, if any."""
    meta = {k.removeprefix("meta."): v for k, v in data.items() if k.startswith("meta.")}
    fields = {k: v for k, v in data.items() if k not in _TOP_LEVEL and not k.startswith("meta.")}
    if "fields" in data:
        errors.append(
            (
                ("body", "fields"),
                "in a form, send each field by its own name",
                "type_error",
                data["fields"],
            )
        )
    sent_test = data.get("test")
    test = _flag(False if sent_test is None else sent_test, errors)
    ping_id = _text(data, "ping_id", errors)
    api_key = _text(data, "api_key", errors)
    tmax = _tmax(data.get("tmax_ms") or None, errors)
    if errors:
        raise Problem.from_errors(errors)
    return SellerBody(fields, test, ping_id, api_key, tmax, meta)


def form_pairs(raw: bytes, errors: list[Any]) -> list[tuple[str, str]]:
    """The form's names and values, each percent-decoded then read as strict UTF-8.

    A value that is not UTF-8 once decoded (``%C3%28``, a lone ``%FF``, raw Latin-1 bytes)
    is an error naming its field, never a value with U+FFFD in it: a replaced character
    would reach buyers and dedup as a different value. A name that is not UTF-8 cannot be
    named: its error is at ``body``. Its value is left out (it may be PII).
    """
    pairs: list[tuple[str, str]] = []
    for chunk in raw.split(b"&"):
        if not chunk:
            continue
        raw_name, _, raw_value = chunk.partition(b"=")
        try:
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            errors.append((("body",), _NOT_UTF8.format("a field name"), "invalid_encoding", None))
            continue
        try:
            value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            errors.append((("body", name), _NOT_UTF8.format("the value"), "invalid_encoding", None))
            continue
        pairs.append((name, value))
    return pairs


def _flag(value: object, errors: list[Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    errors.append((("body", "test"), "must be true or false", "bool_parsing", value))
    return False


def _text(data: Mapping[str, object], name: str, errors: list[Any]) -> str | None:
    """An id or a key: text without control characters (PostgreSQL refuses NUL in a
    query's parameters, which would make a 500 of a seller's typo)."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        if value and _CONTROL.search(value):
            errors.append(
                (("body", name), "must not contain control characters", "invalid_characters", None)
            )
            return None
        return value or None
    errors.append((("body", name), "must be a string", "string_type", value))
    return None


def _tmax(value: object, errors: list[Any]) -> int | None:
    if value is None:
        return None
    tmax = _whole_number(value)
    if tmax is None or tmax <= 0:
        errors.append(
            (("body", "tmax_ms"), "must be a positive number of milliseconds", "int_parsing", value)
        )
        return None
    return tmax


def _whole_number(value: object) -> int | None:
    """A JSON integer, a JSON number with no fraction (``431.0``, as JSON Schema's
    ``integer`` admits) or the digits of one as text; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return None
