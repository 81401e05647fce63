"""Answer bodies in the buyer's format, and the bodies of its misbehaviours. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from string import Template
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import orjson

from pingtree.mockbuyer.config import EndpointConfig, Scalar

__all__ = [
    "CONTENT_TYPES",
    "DOCTYPE_XXE",
    "ENTITY_BOMB",
    "Answer",
    "compile_renderer",
    "garbage",
    "padding",
]

#: one answer by role: status, price (a decimal string), token, redirect_url, reason,
#: lead_id, echo; a role that is absent or ``None`` is left out
Answer = Mapping[str, Scalar | None]

CONTENT_TYPES = {
    "json": "application/json",
    "xml": "application/xml",
    "form": "application/x-www-form-urlencoded",
    "text": "text/plain; charset=utf-8",
}

# echo last: named as another role (``reason``), it takes that role's place
_ROLES = ("status", "price", "token", "redirect_url", "reason", "lead_id", "echo")

ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n<response><status>&lol9;</status><price>10.00</price></response>\n"
)

DOCTYPE_XXE = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b"<response><status>success</status><price>10.00</price><reason>&xxe;</reason></response>\n"
)


def compile_renderer(config: EndpointConfig) -> Callable[[Answer], bytes]:
    """The function turning an answer into body bytes for ``config.format``."""
    names = config.fields
    paths = [
        (role, name.split(".")) for role in _ROLES if (name := getattr(names, role)) is not None
    ]
    extra = dict(config.extra)
    number_price = config.bid_format == "number"

    def fields(answer: Answer, *, as_number: bool) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        for key, constant in extra.items():
            _put(tree, key.split("."), constant)
        for role, path in paths:
            value = answer.get(role)
            if value is None:
                continue
            if role == "price" and as_number:
                _put(tree, path, orjson.Fragment(str(value).encode()))
            else:
                _put(tree, path, value)
        return tree

    fmt = config.format
    if fmt == "json":
        return lambda answer: orjson.dumps(fields(answer, as_number=number_price))
    if fmt == "xml":
        root = config.xml_root

        def xml(answer: Answer) -> bytes:
            inner = _xml(fields(answer, as_number=False))
            return f'<?xml version="1.0" encoding="UTF-8"?><{root}>{inner}</{root}>'.encode()

        return xml
    if fmt == "form":
        flat = [(role, ".".join(path)) for role, path in paths]

        def form(answer: Answer) -> bytes:
            pairs = [(k, _text(v)) for k, v in extra.items()]
            pairs += [(name, _text(answer[r])) for r, name in flat if answer.get(r) is not None]
            return urlencode(pairs).encode()

        return form
    template = Template(config.text_template)

    def text(answer: Answer) -> bytes:
        values = {role: _text(answer.get(role)) for role in _ROLES}
        return template.safe_substitute(values).encode()

    return text


def garbage(fmt: str) -> bytes:
    """A body that looks like ``fmt`` but does not parse."""
    if fmt == "xml":
        return b'<?xml version="1.0"?><response><status>success</status><price>12.5'
    if fmt == "json":
        return b'{"status": "success", "price": 12.50, "ping_id": "abc'
    return b"\x00\xff\xfe<html>%%% status=\xc3("


def padding(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON-looking answer that never closes, in ``chunk`` pieces."""
    head = b'{"status":"success","price":"10.00","pad":"'
    if total <= len(head):
        yield head[:total]
        return
    yield head
    left = total - len(head)
    block = b"x" * chunk
    while left > 0:
        piece = block if left >= chunk else block[:left]
        left -= len(piece)
        yield piece


def _put(tree: dict[str, Any], path: list[str], value: object) -> None:
    for key in path[:-1]:
        child = tree.get(key)
        if not isinstance(child, dict):
            child = tree[key] = {}
        tree = child
    tree[path[-1]] = value


def _xml(tree: Mapping[str, Any]) -> str:
    parts = []
    for key, value in tree.items():
        inner = _xml(value) if isinstance(value, dict) else escape(_text(value))
        parts.append(f"<{key}>{inner}</{key}>")
    return "".join(parts)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
