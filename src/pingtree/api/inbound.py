"""Reading a seller's call in its own format (an inbound profile, ``domain.inbound``).

The profile is chosen by the URL, ``/api/v1/in/{campaign}/{profile}/ping`` (``/post``,
``/leads``), as the platforms sellers already post to give each seller integration its own
posting URL and spec. The bytes are read under the same 64 KiB bound as our envelope
(a ``query`` profile's query string too); XML is parsed by the hardened parser buyers'
answers go through (no entities, no network, no DTD, a DOCTYPE refused). Every leaf element
of an XML document is a name and its text. The seller's names and values then become ours
(``domain.inbound.to_ours``) and the body reads as a flat form's does (``api.body``).

Errors name what the seller sent under its own names: :func:`their_loc` turns an error's
``loc`` of our names into the seller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from pingtree.api.body import (
    MAX_BODY_BYTES,
    SellerBody,
    envelope_body,
    flat_body,
    form_pairs,
    read_bounded,
)
from pingtree.api.problems import Problem
from pingtree.delivery.errors import AnswerError, UnsafeXML
from pingtree.delivery.xml import parse_buyer_xml
from pingtree.domain.inbound import InboundFormat, InboundProfile, to_ours
from pingtree.store.snapshot import Snapshot

__all__ = [
    "BEHIND",
    "CONTENT_TYPES",
    "InboundCall",
    "inbound_profile",
    "read_inbound",
    "refuse_other_method",
    "renamed",
    "their_loc",
]

#: the content types each format takes (an empty one too: many senders leave it out)
CONTENT_TYPES: dict[InboundFormat, tuple[str, ...]] = {
    InboundFormat.JSON: ("application/json", "text/plain"),
    InboundFormat.FLAT_JSON: ("application/json", "text/plain"),
    InboundFormat.FORM: ("application/x-www-form-urlencoded",),
    InboundFormat.XML: ("application/xml", "text/xml", "text/plain"),
    InboundFormat.QUERY: (),
}

Loc = Sequence[str | int]
#: what a seller is told while a background writer is behind (``api.seller``)
BEHIND = Problem(503, "the server is catching up on its writes; try again shortly", "unavailable")


def inbound_profile(snapshot: Snapshot, campaign_id: str, profile_id: str) -> InboundProfile:
    """The profile a URL names; 404 when the campaign has no such profile (or is not)."""
    campaign = snapshot.config.campaigns.get(campaign_id)
    for profile in campaign.inbound if campaign is not None else ():
        if profile.id == profile_id:
            return profile
    raise Problem(404, f"campaign {campaign_id!r} has no inbound profile {profile_id!r}")


def refuse_other_method(request: Request, profile: InboundProfile) -> None:
    """A ``query`` profile is called with GET, the others with POST (405 otherwise)."""
    wanted = "GET" if profile.format is InboundFormat.QUERY else "POST"
    if request.method != wanted:
        raise Problem(405, f"a {profile.format} profile is called with {wanted}", "method")


@dataclass(frozen=True)
class InboundCall:
    body: SellerBody
    #: our name → the seller's name it came under
    sent_as: dict[str, str]


async def read_inbound(request: Request, profile: InboundProfile) -> InboundCall:
    """The seller's call under our names; a :class:`Problem` (names as sent) if it is
    malformed, too large or of another content type."""
    sent: list[Any] = []  # errors of what was sent, in the seller's names already
    pairs = await _pairs(request, profile, sent)
    mapped = to_ours(profile, pairs)
    sent += [(("body", theirs), msg, kind, None) for theirs, msg, kind in mapped.errors]
    root = _root(profile)
    errors = [{"loc": [root, *loc[1:]], "msg": m, "type": t, "input": v} for loc, m, t, v in sent]
    try:
        body = flat_body(mapped.data, [])
    except Problem as problem:
        errors += renamed(problem, profile, mapped.sent_as).errors
    if errors:
        raise Problem(422, errors=errors)
    return InboundCall(body, mapped.sent_as)


def _root(profile: InboundProfile) -> str:
    return "query" if profile.format is InboundFormat.QUERY else "body"


async def _pairs(
    request: Request, profile: InboundProfile, errors: list[Any]
) -> list[tuple[str, object]]:
    if profile.format is InboundFormat.QUERY:
        query: bytes = request.scope.get("query_string", b"")
        if len(query) > MAX_BODY_BYTES:
            raise Problem(414, f"the query string is longer than {MAX_BODY_BYTES} bytes")
        return list(form_pairs(query, errors))
    raw = await read_bounded(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    accepted = CONTENT_TYPES[profile.format]
    if content_type and content_type not in accepted:
        raise Problem(415, f"send {' or '.join(accepted)}", "content_type")
    if profile.format is InboundFormat.FORM:
        return list(form_pairs(raw, errors))
    if profile.format is InboundFormat.FLAT_JSON:
        return _json_pairs(raw)
    if profile.format is InboundFormat.JSON:
        return _envelope_pairs(envelope_body(raw))
    return _xml_pairs(raw, profile)


def _envelope_pairs(body: SellerBody) -> list[tuple[str, object]]:
    """Our envelope flat again: its own names as they are, its fields by the seller's
    names (which the profile's aliases turn into ours)."""
    pairs: list[tuple[str, object]] = [("test", body.test)]
    pairs += [(name, value) for name, value in _controls(body) if value is not None]
    pairs += [(f"meta.{name}", value) for name, value in body.meta.items()]
    return pairs + list(body.fields.items())


def _controls(body: SellerBody) -> list[tuple[str, object]]:
    return [("ping_id", body.ping_id), ("api_key", body.api_key), ("tmax_ms", body.tmax_ms)]


def _json_pairs(raw: bytes) -> list[tuple[str, object]]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Problem(400, f"the body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise Problem.from_errors([(("body",), "must be a JSON object", "type_error", None)])
    nested = [
        (("body", name), "must be a single value, not an object or a list", "type_error", None)
        for name, value in data.items()
        if isinstance(value, dict | list)
    ]
    if nested:
        raise Problem.from_errors(nested)
    return list(data.items())


def _xml_pairs(raw: bytes, profile: InboundProfile) -> list[tuple[str, object]]:
    try:
        root = parse_buyer_xml(raw)
    except UnsafeXML:
        raise Problem(400, "a document with a DOCTYPE or a DTD is refused", "unsafe_xml") from None
    except AnswerError as error:
        raise Problem(400, f"the body is not well-formed XML: {error}", "malformed_xml") from None
    if profile.request_root is not None and _local(root.tag) != profile.request_root:
        raise Problem.from_errors(
            [
                (
                    ("body",),
                    f"the root element must be <{profile.request_root}>",
                    "xml_root",
                    _local(root.tag),
                )
            ]
        )
    pairs: list[tuple[str, object]] = []
    for element in root.iter():
        if element is root or not isinstance(element.tag, str) or len(element):
            continue  # the root, a container: its leaves carry the values
        pairs.append((_local(element.tag), element.text or ""))
    return pairs


def _local(tag: str) -> str:
    """An element's name without its namespace (``{urn:x}Zip`` → ``Zip``)."""
    return tag.rpartition("}")[2]


def their_loc(loc: Loc, profile: InboundProfile, sent_as: dict[str, str]) -> list[str | int]:
    """An error's ``loc`` with the seller's names: ``["body", "fields", "zip"]`` →
    ``["body", "ZipCode"]`` (``["query", …]`` for a ``query`` profile)."""
    parts = list(loc)
    if not parts or parts[0] != "body":
        return parts
    root = _root(profile)
    rest = parts[1:]
    fields = rest[:1] == ["fields"] and len(rest) > 1
    if fields:
        rest = rest[1:]
    if rest and isinstance(rest[0], str):
        rest[0] = sent_as.get(rest[0]) or profile.their_name(rest[0])
    if fields and profile.format is InboundFormat.JSON:
        rest = ["fields", *rest]  # our envelope: the fields stay under "fields"
    return [root, *rest]


def renamed(problem: Problem, profile: InboundProfile, sent_as: dict[str, str]) -> Problem:
    """``problem`` with each error's ``loc`` in the seller's names."""
    if not problem.errors:
        return problem
    errors = [
        {**error, "loc": their_loc(error["loc"], profile, sent_as)} for error in problem.errors
    ]
    return Problem(problem.status, problem.message, problem.type, errors)
