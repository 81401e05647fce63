"""Jinja2 body templates for XML and text bodies, sandboxed (STACK.md "Templates").

An ``ImmutableSandboxedEnvironment`` with ``StrictUndefined`` and no globals (no
``range``, ``dict``, ``lipsum``…). Every ``{{ … }}`` output is escaped for the type the
body is sent as (:data:`TEMPLATE_FORMATS`, chosen by :func:`template_format`): ``xml``
autoescapes and drops XML-illegal characters, ``form`` percent-encodes each value
(``a&b=1`` stays one value), ``csv`` quotes a value holding a comma, a quote or a line
break, ``text`` (``text/plain``) writes values as they are. There is no JSON template:
a JSON body is built from fields, so a value cannot change its structure; a text
template declared as JSON is refused. A template is checked statically when compiled:
no attribute or item starting with ``_`` (``''.__class__``), no ``include``/``import``/
``extends``/``autoescape`` blocks, no ``safe`` filter, only known names. Rendering is
bounded: ``*`` and ``**`` are capped and the output stops at :data:`MAX_TEMPLATE_OUTPUT`
bytes.

Filters beyond Jinja's own: ``json`` (orjson text; escaped like any text in XML),
``xml_strip`` (drop XML-illegal characters), ``date(pattern)``, ``phone(style)``, ``yn``,
``yes_no``, ``one_zero``.

Errors: :func:`compile_template` raises ``ValueError`` with a message for the config
issue; :func:`render_template` raises ``RenderError`` (no value in the message).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

import orjson
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from pingtree.delivery.errors import RenderError
from pingtree.delivery.values import AS_KINDS, PHONE_FORMATS, check_date_format, format_value
from pingtree.delivery.xml import strip_xml_illegal

__all__ = [
    "MAX_TEMPLATE_OUTPUT",
    "MAX_TEMPLATE_SOURCE",
    "TEMPLATE_FORMATS",
    "CompiledTemplate",
    "compile_template",
    "is_json_type",
    "looks_like",
    "render_template",
    "template_format",
]

#: largest rendered body, in bytes
MAX_TEMPLATE_OUTPUT = 256 * 1024
#: longest template source, in characters
MAX_TEMPLATE_SOURCE = 64 * 1024
# ``'x' * n`` and ``a ** b`` are the cheap ways to build a huge value inside one output
_MAX_REPEAT = 64 * 1024
_MAX_EXPONENT = 64

_FORBIDDEN_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
    # {% autoescape false %} would let a lead's value write markup
    nodes.EvalContextModifier,
)


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float | Decimal) and abs(float(right)) > _MAX_EXPONENT:
                raise SecurityError("exponent too large")
            return left**right
        sizes = [len(x) for x in (left, right) if isinstance(x, str | list | tuple)]
        counts = [x for x in (left, right) if isinstance(x, int)]
        if sizes and counts and sizes[0] * counts[0] > _MAX_REPEAT:
            raise SecurityError("repetition too large")
        return left * right


def _json(value: object) -> str:
    # plain str, not Markup: inside an XML template it must still be escaped
    return orjson.dumps(value, default=_json_default).decode()


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _xml_strip(value: object) -> object:
    if isinstance(value, Markup):
        return Markup(strip_xml_illegal(str(value)))
    if isinstance(value, str):
        return strip_xml_illegal(value)
    return value


def _date(value: Any, pattern: str) -> str:
    problem = check_date_format(pattern)
    if problem is not None:
        raise ValueError(problem)
    return format_value(pattern, value)


def _phone(value: Any, style: str = "digits") -> str:
    if style not in PHONE_FORMATS:
        raise ValueError("unknown phone format")
    return format_value(style, value)


def _as(kind: str) -> Callable[[Any], Any]:
    convert = AS_KINDS[kind]
    return lambda value: convert(value)


def _form_value(value: object) -> str:
    # every character that means something in a form is percent-encoded, as urlencode does
    return quote_plus(str(value), safe="")


def _csv_value(value: object) -> str:
    text = str(value)
    if any(char in text for char in _CSV_SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


_CSV_SPECIAL = frozenset(',"\r\n')

#: how each template format escapes a ``{{ … }}`` output (``None``: as it is)
_FINALIZE: Mapping[str, Callable[[Any], Any] | None] = {
    "xml": _xml_strip,
    "form": _form_value,
    "csv": _csv_value,
    "text": None,
}

#: the template formats: what a template body's values are escaped for
TEMPLATE_FORMATS = frozenset(_FINALIZE)


def template_format(media_type: str) -> str | None:
    """The format that escapes values for a body sent as ``media_type`` (a
    ``Content-Type`` value; parameters and case ignored), or ``None`` when no template can
    be escaped for it: JSON (``application/json``, ``*/*+json``: build it from fields),
    HTML, binary and unknown types."""
    essence = media_type.split(";", 1)[0].strip().lower()
    _, _, subtype = essence.partition("/")
    if subtype == "xml" or subtype.endswith("+xml"):
        return "xml"
    return _MEDIA_FORMATS.get(essence)


def is_json_type(media_type: str) -> bool:
    """Whether ``media_type`` says JSON (``application/json``, ``text/json``, ``*+json``…)."""
    essence = media_type.split(";", 1)[0].strip().lower()
    subtype = essence.partition("/")[2]
    return subtype in _JSON_SUBTYPES or subtype.endswith("+json")


#: JSON's subtypes besides ``*+json``
_JSON_SUBTYPES = frozenset({"json", "x-json", "javascript", "x-javascript", "ecmascript"})


def looks_like(source: str) -> str | None:
    """``JSON`` or ``XML`` when a template's text starts as one would (``{"``, ``[{``,
    ``<lead>``, ``<?xml``), else ``None``. ``{{``, ``{%`` and ``{#`` start Jinja, not JSON."""
    text = source.lstrip()
    if text.startswith("{") and text[1:2] not in ("{", "%", "#"):
        return "JSON"
    if text.startswith("["):
        inner = text[1:].lstrip()
        if inner[:1] in ('"', "[") or (inner.startswith("{") and inner[1:2] not in ("{", "%", "#")):
            return "JSON"
    if text.startswith("<") and (text[1:2].isalpha() or text[1:2] in ("?", "!", "_")):
        return "XML"
    return None


_MEDIA_FORMATS = {
    "text/plain": "text",
    "text/csv": "csv",
    "application/x-www-form-urlencoded": "form",
}


def _environment(fmt: str) -> _Sandbox:
    xml = fmt == "xml"
    env = _Sandbox(
        autoescape=xml,
        undefined=StrictUndefined,
        finalize=_FINALIZE[fmt],
        auto_reload=False,
    )
    env.globals.clear()
    # `safe` would let a lead's value write markup
    del env.filters["safe"]
    env.filters.update(
        {
            "json": _json,
            "xml_strip": _xml_strip,
            "date": _date,
            "phone": _phone,
            "yn": _as("yn"),
            "yes_no": _as("yes_no"),
            "one_zero": _as("one_zero"),
        }
    )
    return env


_ENVIRONMENTS: Mapping[str, _Sandbox] = {fmt: _environment(fmt) for fmt in TEMPLATE_FORMATS}


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A checked template and the names it reads (lead fields, ``token``, vars)."""

    fmt: str
    template: Template
    names: frozenset[str]


def compile_template(source: str, fmt: str) -> CompiledTemplate:
    """``source`` compiled for ``fmt``, one of :data:`TEMPLATE_FORMATS` (``xml``
    autoescapes, ``form`` and ``csv`` escape every output, ``text`` does not).

    Raises ``ValueError`` for syntax errors, unknown filters, a source over
    :data:`MAX_TEMPLATE_SOURCE`, ``include``/``import``/``extends``, and any attribute or
    item access to a name starting with ``_``. The caller checks :attr:`names`.
    """
    if len(source) > MAX_TEMPLATE_SOURCE:
        raise ValueError(f"template longer than {MAX_TEMPLATE_SOURCE} characters")
    env = _ENVIRONMENTS[fmt]
    try:
        ast = env.parse(source)
        for node in ast.find_all(_FORBIDDEN_NODES):
            what = (
                "autoescape" if isinstance(node, nodes.EvalContextModifier) else type(node).__name__
            )
            raise ValueError(f"{what.lower()} is not allowed in a body template")
        names_read: list[str | None] = [node.attr for node in ast.find_all(nodes.Getattr)]
        names_read += [_const_key(node.arg) for node in ast.find_all(nodes.Getitem)]
        names_read += [
            _const_key(node.args[0])
            for node in ast.find_all(nodes.Filter)
            if node.name == "attr" and node.args
        ]
        private = sorted({name for name in names_read if name and name.startswith("_")})
        if private:
            shown = ", ".join(repr(name) for name in private)
            raise ValueError(f"access to {shown} is not allowed (sandbox)")
        # Jinja defers unknown filters and tests inside conditionals to render time
        for filter_node in ast.find_all(nodes.Filter):
            if filter_node.name not in env.filters:
                raise ValueError(f"unknown filter {filter_node.name!r}")
        for test_node in ast.find_all(nodes.Test):
            if test_node.name not in env.tests:
                raise ValueError(f"unknown test {test_node.name!r}")
        names = frozenset(meta.find_undeclared_variables(ast))
        template = env.from_string(ast)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error, line {exc.lineno}: {exc.message}") from None
    return CompiledTemplate(fmt, template, names)


def _const_key(arg: nodes.Expr) -> str | None:
    if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
        return arg.value
    return None


def render_template(compiled: CompiledTemplate, context: Mapping[str, object]) -> str:
    """``compiled`` rendered with ``context``, at most :data:`MAX_TEMPLATE_OUTPUT` bytes.

    Raises ``RenderError`` if the template fails (undefined name, sandbox violation, a
    filter refusing a value, any exception the template raises) or its output is too
    large. The message names the exception type, never a value.
    """
    size = 0
    chunks: list[str] = []
    try:
        for chunk in compiled.template.generate(context):
            size += len(chunk)
            if size > MAX_TEMPLATE_OUTPUT:
                raise RenderError(f"template output over {MAX_TEMPLATE_OUTPUT} bytes")
            chunks.append(chunk)
    except RenderError:
        raise
    except Exception as exc:  # template code is configuration: any failure is bounded here
        raise RenderError(f"template failed: {type(exc).__name__}") from None
    text = "".join(chunks)
    if len(text.encode()) > MAX_TEMPLATE_OUTPUT:
        raise RenderError(f"template output over {MAX_TEMPLATE_OUTPUT} bytes")
    return text
