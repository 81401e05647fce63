"""Build a buyer's request from a compiled step and a lead (pure: no I/O).

JSON, form and query bodies are built from the mapping as data and written by their
encoder (orjson, urlencode), so a value can never change their structure; XML from fields
is built by lxml; XML and text templates run in the sandbox of
:mod:`pingtree.delivery.templates`. URL placeholders are percent-encoded; header values
refuse CR/LF (DESIGN §8.6).

The request carries only what the step names: a ping step compiled without PII reads no
PII, whatever ``values`` holds.

:func:`render_masked` builds the same request for the delivery log with the lead's PII
values replaced by their ``{{field}}`` placeholders before anything is encoded (DESIGN
§8.5): a value's JSON, XML, URL or template shape never has to be searched for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from pingtree.delivery.attempts import mask_pii
from pingtree.delivery.auth import AUTH_KINDS
from pingtree.delivery.compiled import (
    CONTENT_TYPES,
    CompiledBody,
    CompiledField,
    CompiledStep,
    SecretRef,
)
from pingtree.delivery.errors import RenderError
from pingtree.delivery.placeholders import TextTemplate
from pingtree.delivery.templates import render_template
from pingtree.delivery.values import AS_KINDS, WireValue, format_value, to_text
from pingtree.delivery.xml import XmlTarget, build_xml
from pingtree.domain.verticals import LeadValue

__all__ = [
    "OutboundRequest",
    "RenderError",
    "placeholder",
    "render",
    "render_masked",
    "sent_in_place",
]


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One request to send: ``body`` is empty for a GET or a body-less step; ``headers``
    include ``Content-Type`` when there is a body and the auth header when configured."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def render(
    step: CompiledStep,
    values: Mapping[str, LeadValue],
    *,
    token: str | None = None,
    resolve_secret: Callable[[str], str],
) -> OutboundRequest:
    """The request of ``step`` for a lead's normalized ``values``.

    ``token`` is the buyer's token from its ping answer (post steps; ``None`` when there
    was no ping). ``resolve_secret(NAME)`` returns a ``{secret: NAME}`` value and raises
    ``KeyError`` for an unknown name.

    An absent field (missing or ``None``) is left out of a mapping body, or replaced by
    its ``default``; in a template it reads as ``""`` (so ``{% if zip %}`` works), never
    as an error. Raises :class:`RenderError` when a URL or header placeholder has no
    value, a value does not convert (``as``, ``format``), a secret is unknown, a header
    value holds CR/LF, or a template fails or outgrows its cap. Messages name fields,
    never values.
    """
    return _render(step, _Scope(step, values, token, resolve_secret))


def render_masked(
    step: CompiledStep,
    values: Mapping[str, LeadValue],
    masked: frozenset[str],
    *,
    token: str | None = None,
    resolve_secret: Callable[[str], str],
) -> OutboundRequest:
    """The request :func:`render` builds, as the delivery log shows it: each field of
    ``masked`` that has a value reads as its placeholder (``{{email}}``) wherever the step
    puts it (URL, headers, body, template), taken before any format, ``as`` or value map
    and before the body's encoder, so no shape of the value is left to search for. A
    placeholder a URL or a form percent-encodes is written back as ``{{email}}``.

    A template gets a stand-in of the value's kind where a placeholder would not pass its
    filters: a date for a date (``date(...)``), a run of zeros for a number written in
    digits (``phone(...)``); what the filters made of it is then masked as the value.

    Raises as :func:`render` does, and :class:`RenderError` when a template still cannot
    take what it is given for a value: the caller then masks the request sent instead.
    """
    scope = _MaskedScope(step, values, token, resolve_secret, masked)
    request = _render(step, scope)
    url, body = request.url, request.body
    if scope.stand_ins:
        # what a template's filters made of a stand-in (``(000) 000-0001``, ``01/02/1900``)
        body = mask_pii(body.decode(), scope.stand_ins).encode()
    for name in masked:
        shown = placeholder(name)
        encoded = _quote(shown)  # the same for quote_plus: names hold no space
        url = url.replace(encoded, shown)
        body = body.replace(encoded.encode(), shown.encode())
    return OutboundRequest(request.method, url, request.headers, body)


def placeholder(name: str) -> str:
    """How the delivery log writes a field's masked value: ``{{name}}``."""
    return "{{" + name + "}}"


def sent_in_place(shown: str, sent: str, names: frozenset[str]) -> list[tuple[str, str]]:
    """What ``sent`` holds where ``shown`` (its masked rendering) has each placeholder of
    ``names``, as (field, text) pairs: what a template's filters made of a value
    (``replace``, ``truncate``…), for masking a buyer's answer that says it back.

    The texts between placeholders are found left to right, in linear time; when they
    do not line up (a condition on a value changed the text), nothing is returned.
    Placeholders next to each other come back as one text, under the first one's name.
    """
    parts = _SHOWN_PLACEHOLDER.split(shown)
    if len(parts) == 1 or not sent.startswith(parts[0]):
        return []
    by_lower = {name.lower(): name for name in names}
    found: list[tuple[str, str]] = []
    position = len(parts[0])
    name: str | None = None
    for index in range(1, len(parts), 2):
        name = name or by_lower.get(parts[index].lower())
        literal = parts[index + 1]
        if index + 2 == len(parts):  # the last text: the rest of ``sent`` must end with it
            if not sent.endswith(literal) or len(sent) - len(literal) < position:
                return []
            end = len(sent) - len(literal)
        elif not literal:
            continue  # two placeholders in a row: one text for both
        else:
            end = sent.find(literal, position)
            if end < 0:
                return []
        if name is not None and end > position:
            found.append((name, sent[position:end]))
        position, name = end + len(literal), None
    return found


#: a placeholder in a masked rendering, in any case (a template may have upper-cased it)
_SHOWN_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")


def _render(step: CompiledStep, scope: _Scope) -> OutboundRequest:
    url = step.url.fill(scope.text, _quote)
    headers = [(name, scope.header(name, value)) for name, value in step.headers]
    query: list[tuple[str, str]] = []
    body = b""
    if step.body is not None:
        if step.body.in_query:
            query += _pairs(step.body, scope)
        else:
            body = _body(step.body, scope)
            mime = CONTENT_TYPES[step.content_type].mime
            if mime is not None and not any(n.lower() == "content-type" for n, _ in headers):
                headers.append(("Content-Type", mime))
    mark = AUTH_KINDS[step.auth.kind].mark(step.auth, scope.resolve)
    if mark.header is not None:
        headers.append((mark.header[0], _header_value(mark.header[0], mark.header[1])))
    if mark.query is not None:
        query.append(mark.query)
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query, quote_via=quote)
    return OutboundRequest(step.method, url, tuple(headers), body)


#: a number written in digits, long enough for a phone (``phone(...)`` needs 10)
_DIGITS = re.compile(r"[0-9]{7,}")


def _quote(text: str) -> str:
    return quote(text, safe="")


def _header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise RenderError(f"header {name}: CR, LF and NUL are not allowed in a value")
    return value


class _Scope:
    """What a step may read for one lead: its fields, the token, vars and secrets."""

    def __init__(
        self,
        step: CompiledStep,
        values: Mapping[str, LeadValue],
        token: str | None,
        resolve_secret: Callable[[str], str],
    ) -> None:
        self.step = step
        self.values = values
        self.token = token
        self.resolve_secret = resolve_secret

    def resolve(self, value: str | SecretRef | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        try:
            return self.resolve_secret(value.name)
        except KeyError:
            raise RenderError(f"unknown secret {value.name!r}") from None

    def raw(self, name: str) -> LeadValue | None:
        """A field's value, the token, or a var; ``None`` when absent."""
        if name == "token":
            return self.token
        var = self.step.vars.get(name)
        if var is not None:
            return self.resolve(var)
        return self.values.get(name)

    def text(self, name: str) -> str:
        """A placeholder's text; raises when it has no value."""
        value = self.raw(name)
        if value is None:
            raise RenderError(f"placeholder {{{name}}} has no value for this lead")
        return to_text(value)

    def header(self, name: str, value: TextTemplate | SecretRef) -> str:
        text = self.resolve(value) if isinstance(value, SecretRef) else value.fill(self.text, str)
        return _header_value(name, text)

    def fields(self, body: CompiledBody) -> list[tuple[CompiledField, WireValue]]:
        """Each present field's wire value, in spec order; absent ones left out."""
        out = []
        for field in body.fields:
            value = self.field(field)
            if value is not None:
                out.append((field, value))
        return out

    def field(self, field: CompiledField) -> WireValue | None:
        raw: WireValue | dt.date | None
        if field.static is not None:
            raw = (
                self.resolve(field.static) if isinstance(field.static, SecretRef) else field.static
            )
        else:
            raw = self.raw(field.source or "")
        if raw is None:
            return field.default
        try:
            if field.value_map is not None:
                mapped = field.value_map.get(to_text(raw))
                raw = raw if mapped is None else mapped
            if field.fmt is not None:
                raw = format_value(field.fmt, raw)
            if field.as_kind is not None:
                raw = AS_KINDS[field.as_kind](raw)
        except ValueError as exc:
            source = f" (from {field.source})" if field.source else ""
            raise RenderError(f"body field {field.target}{source}: {exc}") from None
        return raw.isoformat() if isinstance(raw, dt.date) else raw

    def template_context(self, names: frozenset[str]) -> dict[str, object]:
        # only the names the template reads, so nothing else can leak into it
        context: dict[str, object] = {}
        for name in names:
            value = self.raw(name)
            context[name] = "" if value is None else value
        return context


class _MaskedScope(_Scope):
    """A scope whose ``masked`` fields read as their placeholders, as they are."""

    def __init__(
        self,
        step: CompiledStep,
        values: Mapping[str, LeadValue],
        token: str | None,
        resolve_secret: Callable[[str], str],
        masked: frozenset[str],
    ) -> None:
        super().__init__(step, values, token, resolve_secret)
        self.masked = masked
        #: field → the text of the stand-in a template got for it
        self.stand_ins: dict[str, str] = {}

    def raw(self, name: str) -> LeadValue | None:
        value = super().raw(name)
        if value is None or name not in self.masked or name == "token" or name in self.step.vars:
            return value
        return placeholder(name)

    def field(self, field: CompiledField) -> WireValue | None:
        source = field.source
        if field.static is None and source in self.masked and self.raw(source) is not None:
            # before its value map, format and ``as``: a placeholder is no phone or date
            return placeholder(source)
        return super().field(field)

    def template_context(self, names: frozenset[str]) -> dict[str, object]:
        context = super().template_context(names)
        for name in sorted(names & self.masked):
            value = super().raw(name)
            if isinstance(value, dt.date) or (isinstance(value, str) and _DIGITS.fullmatch(value)):
                context[name] = self._stand_in(name, value)
        return context

    def _stand_in(self, name: str, value: dt.date | str) -> dt.date | str:
        """A value of ``value``'s kind that no lead has, unique to ``name``."""
        number = len(self.stand_ins) + 1
        if isinstance(value, dt.date):
            stand_in: dt.date | str = dt.date(1900, 1, 1) + dt.timedelta(days=number)
        else:
            stand_in = str(number).rjust(len(value), "0")
        self.stand_ins[name] = stand_in.isoformat() if isinstance(stand_in, dt.date) else stand_in
        return stand_in


def _body(body: CompiledBody, scope: _Scope) -> bytes:
    if body.template is not None:
        text = render_template(body.template, scope.template_context(body.template.names))
        document = text.encode()
    elif body.document == "json":
        document = orjson.dumps(_nested(scope.fields(body)), default=_json_default)
    elif body.document == "xml":
        items: list[tuple[XmlTarget, str]] = [
            (field.xml_target, to_text(value))
            for field, value in scope.fields(body)
            if field.xml_target is not None
        ]
        document = build_xml(body.root, items)
    else:  # pairs
        return urlencode(_pairs(body, scope)).encode()
    if body.form_field is not None:
        return urlencode([(body.form_field, document.decode())]).encode()
    return document


def _pairs(body: CompiledBody, scope: _Scope) -> list[tuple[str, str]]:
    """A form's or a query's fields, then its document fields, each holding the text of
    its own document (escaped for XML or JSON; the caller's encoder escapes it again)."""
    pairs = [(field.target, to_text(value)) for field, value in scope.fields(body)]
    pairs += [(name, _body(document, scope).decode()) for name, document in body.documents]
    return pairs


def _nested(fields: list[tuple[CompiledField, WireValue]]) -> dict[str, Any]:
    """``lead.zip`` → ``{"lead": {"zip": …}}``; the compiler refused clashing targets."""
    root: dict[str, Any] = {}
    for field, value in fields:
        node = root
        for key in field.keys[:-1]:
            node = node.setdefault(key, {})
        node[field.keys[-1]] = value
    return root


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # exact, as a JSON number: never through float
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"not JSON: {type(value).__name__}")
