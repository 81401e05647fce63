"""Answering a seller in its own format (an inbound profile, ``domain.inbound``).

The statuses, reasons and HTTP codes are the envelope's (every business outcome is 200);
only the spelling changes: JSON keys or XML elements named by the profile, its words for
the statuses, and the seller's own names in ``fields``, ``missing`` and every error's
``loc``. An XML answer is built by lxml as data, so no value can change its structure::

    <response><status>accepted</status><ping_id>…</ping_id><bid>21.70</bid>…</response>
    <response><status>rejected</status><reasons>no_eligible_buyers</reasons></response>
    <response><status>error</status><error field="ZipCode" type="invalid_zip">…</error></response>

A list is one element per item (``<reasons>`` twice for two reasons).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from lxml import etree
from starlette.responses import Response

from pingtree.api.inbound import renamed
from pingtree.api.problems import RETRY_AFTER_SECONDS, Problem
from pingtree.delivery.xml import strip_xml_illegal
from pingtree.domain.inbound import ANSWER_KEYS, AnswerFormat, InboundProfile

__all__ = ["answer_bytes", "inbound_answer", "inbound_problem", "their_answer"]

_XML = "application/xml"
_JSON = "application/json"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
#: answer keys whose items are our field names
_FIELD_LISTS = ("fields", "missing")


def their_answer(
    profile: InboundProfile, answer: Mapping[str, Any], sent_as: Mapping[str, str]
) -> dict[str, Any]:
    """The answer's keys and values as the seller reads them (keys not yet renamed)."""
    out: dict[str, Any] = {}
    for key in ANSWER_KEYS:
        value = answer.get(key)
        if value is None:
            continue
        if key == "status":
            value = profile.status_word(str(value))
        elif key in _FIELD_LISTS:
            value = [sent_as.get(name) or profile.their_name(name) for name in value]
        out[key] = value
    return out


def inbound_answer(
    profile: InboundProfile, answer: Mapping[str, Any], sent_as: Mapping[str, str]
) -> Response:
    """A business outcome (HTTP 200) in the profile's answer format."""
    body, media_type = answer_bytes(profile, answer, sent_as)
    return Response(body, media_type=media_type)


def answer_bytes(
    profile: InboundProfile,
    answer: Mapping[str, Any],
    sent_as: Mapping[str, str],
    *,
    indent: bool = False,
) -> tuple[bytes, str]:
    """An answer's body in the profile's format, and its media type (``indent``: laid
    out for reading, as the posting instructions show it)."""
    values = their_answer(profile, answer, sent_as)
    if profile.answer_format is AnswerFormat.XML:
        root = etree.Element(profile.answer_root)
        for key, value in values.items():
            _add(root, profile.answer_name(key), value)
        return _xml_bytes(root, indent), _XML
    body = {profile.answer_name(key): value for key, value in values.items()}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 if indent else None), _JSON


def inbound_problem(
    profile: InboundProfile, problem: Problem, sent_as: Mapping[str, str]
) -> Response:
    """A 4xx (or 503) in the profile's answer format, each field named as the seller sent
    it: JSON ``{status: error, detail: …}`` as the envelope's, or XML ``<error>``s."""
    problem = renamed(problem, profile, dict(sent_as))
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else {}
    headers.update(problem.headers)  # a 429's Retry-After
    if problem.status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    status = profile.status_word("error")
    if profile.answer_format is AnswerFormat.JSON:
        body = {profile.answer_name("status"): status, **problem.body()}
        return Response(orjson.dumps(body), problem.status, headers, _JSON)
    root = etree.Element(profile.answer_root)
    _add(root, profile.answer_name("status"), status)
    name = profile.answer_name("error")
    if not problem.errors:
        _add(root, name, problem.message, type=problem.type or "error")
    for error in problem.errors:
        loc = error["loc"]
        field = ".".join(str(part) for part in loc[1:]) if len(loc) > 1 else ""
        _add(root, name, error["msg"], field=field, type=error["type"])
    return Response(_xml_bytes(root), problem.status, headers, _XML)


def _add(parent: Any, name: str, value: object, **attributes: str) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _add(parent, name, item)
        return
    element = etree.SubElement(parent, name)
    for attribute, text in attributes.items():
        if text:
            element.set(attribute, strip_xml_illegal(text))
    element.text = strip_xml_illegal(_text(value))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_bytes(root: Any, indent: bool = False) -> bytes:
    body: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=indent)
    return _DECLARATION + body
