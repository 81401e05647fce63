"""The posting instructions of a campaign's inbound profiles: each seller's own format.

For every profile (``domain.inbound``): its URLs, method and content type, the seller's
names for the vertical's fields, the value maps, the names dropped, how the answers read,
and the same example calls as the envelope's (``api.instructions_examples``), written in
the seller's names, values and format, with the answers and an error as it would get them.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from lxml import etree

from pingtree.api.inbound import CONTENT_TYPES
from pingtree.api.inbound_answers import answer_bytes, inbound_problem
from pingtree.api.instructions_examples import (
    KEY_VARIABLE,
    example_answers,
    example_bodies,
)
from pingtree.api.problems import Problem
from pingtree.delivery.xml import strip_xml_illegal
from pingtree.domain.campaigns import Campaign
from pingtree.domain.inbound import InboundFormat, InboundProfile
from pingtree.domain.verticals import Vertical

__all__ = ["ProfileDoc", "ProfileExample", "profile_docs"]

_FORMAT_NAMES = {
    InboundFormat.JSON: "our JSON envelope (the fields under `fields`)",
    InboundFormat.FLAT_JSON: "flat JSON (the fields at the top level)",
    InboundFormat.FORM: "a form post (application/x-www-form-urlencoded)",
    InboundFormat.QUERY: "the fields in the query string",
    InboundFormat.XML: "an XML document (every leaf element a field)",
}
_CALLS = {
    "ping": ("ping", "Ping"),
    "post": ("post", "Post (after an accepted ping)"),
    "direct_post": ("leads", "Direct post"),
}


@dataclass(frozen=True)
class ProfileExample:
    operation: str
    title: str
    method: str
    url: str
    body: str
    curl: str
    answer: str


@dataclass(frozen=True)
class ProfileDoc:
    id: str
    format: str
    method: str
    #: the content types it takes (none for a GET)
    content_types: tuple[str, ...]
    #: (method, URL, what it does)
    endpoints: tuple[tuple[str, str, str], ...]
    #: (the seller's name, the vertical's field or control name)
    names: tuple[tuple[str, str], ...]
    #: (our field, the seller's value, what it stands for)
    values: tuple[tuple[str, str, str], ...]
    ignored: tuple[str, ...]
    #: how answers read: "JSON" or "XML (root element Response)"
    answer_format: str
    #: (our answer key, the seller's name) of each renamed key
    answer_names: tuple[tuple[str, str], ...]
    #: (our status, the seller's word)
    statuses: tuple[tuple[str, str], ...]
    examples: tuple[ProfileExample, ...]
    #: an answer to a call with a bad ZIP code, as the seller gets it
    error_example: str


def profile_docs(vertical: Vertical, campaign: Campaign, base_url: str) -> tuple[ProfileDoc, ...]:
    return tuple(_doc(profile, vertical, campaign, base_url) for profile in campaign.inbound)


def _doc(
    profile: InboundProfile, vertical: Vertical, campaign: Campaign, base_url: str
) -> ProfileDoc:
    method = "GET" if profile.format is InboundFormat.QUERY else "POST"
    root = f"{base_url}/api/v1/in/{campaign.id}/{profile.id}"
    endpoints = []
    if "ping_post" in campaign.modes:
        endpoints += [(method, f"{root}/ping", "ping"), (method, f"{root}/post", "post")]
    if "direct_post" in campaign.modes:
        endpoints.append((method, f"{root}/leads", "direct post"))
    endpoints.append(("GET", f"{root}/leads/{{lead_id}}", "a lead's final outcome, as answered"))
    answer_format = (
        f"XML (root element {profile.answer_root})" if profile.answer_format == "xml" else "JSON"
    )
    bad_zip = Problem.from_errors(
        [(("body", "fields", "zip"), "must be a 5-digit US ZIP code", "invalid_zip", "3310")]
    )
    error = inbound_problem(profile, bad_zip, {})
    return ProfileDoc(
        id=profile.id,
        format=_FORMAT_NAMES[profile.format],
        method=method,
        content_types=CONTENT_TYPES[profile.format],
        endpoints=tuple(endpoints),
        names=tuple(profile.aliases.items()),
        values=tuple(
            (ours, theirs, _text(value))
            for ours, table in profile.spellings.items()
            for theirs, value in table.items()
        ),
        ignored=tuple(sorted(profile.ignore)),
        answer_format=answer_format,
        answer_names=tuple(profile.answer_names.items()),
        statuses=tuple(profile.statuses.items()),
        examples=_examples(profile, vertical, campaign, root, method),
        error_example=f"HTTP {error.status_code}\n{bytes(error.body).decode()}",
    )


def _examples(
    profile: InboundProfile, vertical: Vertical, campaign: Campaign, root: str, method: str
) -> tuple[ProfileExample, ...]:
    answers = example_answers()
    examples = []
    for operation, body in example_bodies(vertical, campaign).items():
        path, title = _CALLS[operation]
        url = f"{root}/{path}"
        pairs = _their_pairs(profile, body)
        answer = answers["ping_accepted" if operation == "ping" else "sold"]
        text, _ = answer_bytes(profile, answer, {}, indent=True)
        request_body, curl = _request(profile, url, pairs)
        examples.append(
            ProfileExample(
                operation=operation,
                title=title,
                method=method,
                url=url,
                body=request_body,
                curl=curl,
                answer=text.decode(),
            )
        )
    return tuple(examples)


def _their_pairs(profile: InboundProfile, body: Mapping[str, Any]) -> list[tuple[str, object]]:
    """An example body of ours in the seller's names and values, control names first."""
    ours = [(key, body[key]) for key in ("ping_id", "test") if key in body]
    ours += list(body.get("fields", {}).items())
    return [(profile.their_name(name), profile.their_value(name, value)) for name, value in ours]


def _request(profile: InboundProfile, url: str, pairs: list[tuple[str, object]]) -> tuple[str, str]:
    """The body as the seller sends it (for a GET: the URL with its query), and a curl
    command sending it with the key in a header."""
    key = f'-H "X-Api-Key: ${KEY_VARIABLE}"'
    if profile.format is InboundFormat.QUERY:
        full = f"{url}?{urlencode([(name, _text(value)) for name, value in pairs])}"
        return full, f"curl -sS {key} \\\n  {shlex.quote(full)}"
    if profile.format is InboundFormat.FORM:
        body = urlencode([(name, _text(value)) for name, value in pairs])
        content_type = "application/x-www-form-urlencoded"
    elif profile.format is InboundFormat.FLAT_JSON:
        body = orjson.dumps(dict(pairs), option=orjson.OPT_INDENT_2).decode()
        content_type = "application/json"
    elif profile.format is InboundFormat.JSON:
        body = orjson.dumps(_envelope(pairs), option=orjson.OPT_INDENT_2).decode()
        content_type = "application/json"
    else:
        element = etree.Element(profile.request_root or "lead")
        for name, value in pairs:
            etree.SubElement(element, name).text = strip_xml_illegal(_text(value))
        body = etree.tostring(element, encoding="unicode", pretty_print=True).rstrip()
        content_type = "application/xml"
    curl = (
        f"curl -sS -X POST {shlex.quote(url)} \\\n  {key} \\\n"
        f"  -H {shlex.quote('Content-Type: ' + content_type)} \\\n"
        f"  --data-binary {shlex.quote(body)}"
    )
    return body, curl


def _envelope(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Our envelope of the seller's pairs: ``ping_id`` and ``test`` at the top (a json
    profile renames fields only), the rest under ``fields``."""
    top = {name: value for name, value in pairs if name in ("ping_id", "test")}
    return {**top, "fields": {name: value for name, value in pairs if name not in top}}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
