"""Compiling a step's body: its fields, template, form field and document fields.

:func:`pingtree.delivery.spec.compile_delivery` resolves a step, checks its URL, headers
and auth, and hands the body here (the response to
:mod:`pingtree.delivery.compile_response`) with a :class:`StepContext` that knows the
step's name, its fields and where to report issues.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from pingtree.delivery.compiled import (
    CONTENT_TYPES,
    CompiledBody,
    CompiledField,
)
from pingtree.delivery.models import (
    TOKEN,
    BodySpec,
    DocumentFieldSpec,
    FieldMapSpec,
)
from pingtree.delivery.templates import (
    CompiledTemplate,
    compile_template,
    is_json_type,
    looks_like,
    template_format,
)
from pingtree.delivery.values import PHONE_FORMATS, WireValue, check_date_format
from pingtree.delivery.xml import XmlTarget, is_xml_name

__all__ = ["StepContext", "compile_body", "marker_field"]


class StepContext(Protocol):
    """What compiling a part of a step needs to know and where its issues go."""

    @property
    def known(self) -> frozenset[str]:
        """The vertical's field names."""
        ...

    @property
    def count(self) -> int:
        """How many issues have been reported so far (to tell whether a part added one)."""
        ...

    def at(self, key: str, *rest: str | int) -> str:
        """The path of a key of the step (``ping.body.fields[2].from``)."""
        ...

    def issue(self, path: str, msg: str) -> None: ...

    def check_name(self, path: str, name: str, *, what: str) -> None:
        """Report a name the step may not read (unknown, PII in a ping, token in a ping)."""
        ...


# --- body ------------------------------------------------------------------------------


def compile_body(
    ctx: StepContext,
    spec: BodySpec | None,
    content_type: str,
    declared: tuple[str, object] | None = None,
) -> CompiledBody | None:
    """A step's body, or ``None`` when it has none; issues go to ``ctx``.

    ``declared`` is the step's own ``Content-Type`` header (its name as written, its
    value), which a template's values are escaped for (:func:`_template_format`)."""
    if spec is None:
        return None
    document = CONTENT_TYPES[content_type].document
    if spec.form_field is not None:
        if content_type != "form":
            ctx.issue(ctx.at("body", "form_field"), "only with content_type form")
        elif not spec.form_field:
            ctx.issue(ctx.at("body", "form_field"), "a form field name is required")
        document = spec.document or "xml"
    elif spec.document is not None:
        ctx.issue(ctx.at("body", "document"), "only with form_field")
    documents: tuple[tuple[str, CompiledBody], ...] = ()
    if spec.documents is not None:
        if document != "pairs" or spec.form_field is not None:
            ctx.issue(ctx.at("body", "documents"), "only in a form or query body of fields")
        else:
            documents = _documents(ctx, spec.documents)
        if spec.fields is None and spec.template is None:
            spec = spec.model_copy(update={"fields": []})  # documents only
    if (spec.fields is None) == (spec.template is None):
        ctx.issue(ctx.at("body"), "exactly one of fields and template")
        return None
    if spec.root is not None and (document != "xml" or spec.template is not None):
        ctx.issue(ctx.at("body", "root"), "only for an XML body built from fields")
    root = spec.root or "lead"
    if not is_xml_name(root):
        ctx.issue(ctx.at("body", "root"), "not a valid XML element name")
    template = None
    fields: tuple[CompiledField, ...] = ()
    if spec.template is not None:
        fmt: str | None = document
        if spec.form_field is None:  # in a form field, the form's encoder escapes it all
            fmt = _template_format(ctx, content_type, document, declared)
        template = None if fmt is None else _template(ctx, spec.template, document, fmt)
    elif spec.fields is not None:
        if document == "text":
            ctx.issue(ctx.at("body", "fields"), "a text body comes from a template")
        else:
            fields = _fields(ctx, spec.fields, document)
    return CompiledBody(
        document=document,
        fields=fields,
        template=template,
        root=root,
        form_field=spec.form_field,
        in_query=content_type == "query",
        documents=documents,
    )


class _InDocument:
    """A step context whose body paths are those of one ``body.documents`` entry."""

    def __init__(self, ctx: StepContext, index: int) -> None:
        self._ctx = ctx
        self._index = index

    @property
    def known(self) -> frozenset[str]:
        return self._ctx.known

    @property
    def count(self) -> int:
        return self._ctx.count

    def at(self, key: str, *rest: str | int) -> str:
        if key == "body":
            return self._ctx.at("body", "documents", self._index, *rest)
        return self._ctx.at(key, *rest)

    def issue(self, path: str, msg: str) -> None:
        self._ctx.issue(path, msg)

    def check_name(self, path: str, name: str, *, what: str) -> None:
        self._ctx.check_name(path, name, what=what)


def _documents(
    ctx: StepContext, specs: Sequence[DocumentFieldSpec]
) -> tuple[tuple[str, CompiledBody], ...]:
    """Each document field: its name and its document, compiled as a body of its type
    (XML escaped by lxml or the XML template's escaping, JSON by orjson; the form's or
    the query's encoder then escapes the whole text)."""
    out: list[tuple[str, CompiledBody]] = []
    for index, spec in enumerate(specs):
        inner = _InDocument(ctx, index)
        if not spec.to:
            inner.issue(inner.at("body", "to"), "a field name is required")
            continue
        if spec.to in (name for name, _ in out):
            inner.issue(inner.at("body", "to"), f"{spec.to!r} is already a document field")
            continue
        body = BodySpec(fields=spec.fields, template=spec.template, root=spec.root)
        compiled = compile_body(inner, body, spec.document)
        if compiled is not None:
            out.append((spec.to, compiled))
    return tuple(out)


def _template_format(
    ctx: StepContext, content_type: str, document: str, declared: tuple[str, object] | None
) -> str | None:
    """What a template's values are escaped for: the type the body is sent as, its
    ``Content-Type`` header when the step sets one. ``None`` after an issue: a type no
    template can be escaped for (JSON above all), or one an XML template's escaping does
    not fit."""
    if document not in ("xml", "text"):
        return document  # refused by _template
    mime = CONTENT_TYPES[content_type].mime or ""
    where = f"content_type {content_type}"
    if declared is not None:
        name, value = declared
        where = f"headers.{name}"
        if not isinstance(value, str) or "{" in value:
            ctx.issue(
                ctx.at("headers", name),
                "a template body's Content-Type is fixed text: its values are escaped for it",
            )
            return None
        mime = value
    media = mime.split(";", 1)[0].strip().lower()
    fmt = template_format(mime)
    path = ctx.at("body", "template")
    if fmt is None:
        if is_json_type(media):
            ctx.issue(
                path,
                f"the body is sent as {media} ({where}), and a template cannot keep a value "
                "from changing JSON's structure: build a JSON body from fields "
                "(content_type: json)",
            )
        else:
            ctx.issue(
                path,
                f"the body is sent as {media} ({where}), which a template's values cannot be "
                "escaped for: send text/plain, text/csv, application/x-www-form-urlencoded "
                "or an XML type, or build the body from fields",
            )
        return None
    if document == "xml" and fmt not in ("xml", "text"):
        ctx.issue(
            path,
            f"an XML template's values are escaped for XML; the body is sent as {media} ({where})",
        )
        return None
    # XML escaping is also safe in plain text: an XML template stays escaped for XML
    return "xml" if document == "xml" else fmt


def _template(ctx: StepContext, source: str, document: str, fmt: str) -> CompiledTemplate | None:
    path = ctx.at("body", "template")
    if document not in ("xml", "text"):
        ctx.issue(
            path,
            "templates are for XML and text bodies; JSON, form and query bodies are "
            "built from fields so a value cannot change their structure",
        )
        return None
    if fmt == "text":
        shape = looks_like(source)
        if shape == "JSON":
            ctx.issue(
                path,
                "this text template looks like JSON, which many buyers parse whatever the "
                "Content-Type, and a template cannot keep a value from changing JSON's "
                "structure: build a JSON body from fields (content_type: json)",
            )
            return None
        if shape == "XML":
            ctx.issue(
                path,
                "this text template looks like XML, whose values a text template does not "
                "escape: use content_type xml (document: xml in a form field)",
            )
            return None
    try:
        template = compile_template(source, fmt)
    except ValueError as exc:
        ctx.issue(path, str(exc))
        return None
    for name in sorted(template.names):
        ctx.check_name(path, name, what="template variable")
    return template


def _fields(
    ctx: StepContext, specs: Sequence[FieldMapSpec], document: str
) -> tuple[CompiledField, ...]:
    out: list[CompiledField] = []
    taken: list[tuple[str, ...]] = []
    for index, spec in enumerate(specs):
        compiled = _field(ctx, index, spec, document)
        if compiled is None:
            continue
        key = compiled.keys
        if compiled.xml_target is not None:
            elements, attribute = compiled.xml_target
            key = elements if attribute is None else (*elements, "@" + attribute)
        xml = compiled.xml_target is not None
        if any(_collide(key, other, xml=xml) for other in taken):
            ctx.issue(
                ctx.at("body", "fields", index, "to"),
                f"{spec.to!r} repeats or contains another field's target",
            )
            continue
        taken.append(key)
        out.append(compiled)
    return tuple(out)


def _field(ctx: StepContext, index: int, spec: FieldMapSpec, document: str) -> CompiledField | None:
    def at(key: str) -> str:
        return ctx.at("body", "fields", index, key)

    ok = True
    if (spec.from_ is None) == (spec.value is None):
        ctx.issue(ctx.at("body", "fields", index), "exactly one of from and value")
        ok = False
    if spec.from_ is not None:
        before = ctx.count
        if spec.from_ not in ctx.known and spec.from_ != TOKEN:
            ctx.issue(at("from"), f"unknown field {spec.from_!r}")
        else:
            ctx.check_name(at("from"), spec.from_, what="field")
        ok = ok and ctx.count == before
    if spec.value is not None and spec.default is not None:
        ctx.issue(at("default"), "a static value needs no default")
        ok = False
    if spec.format is not None:
        if spec.as_ not in (None, "string"):
            ctx.issue(at("format"), f"a formatted value is text: not with as {spec.as_}")
            ok = False
        elif spec.format not in PHONE_FORMATS:
            problem = check_date_format(spec.format)
            if problem is not None:
                ctx.issue(at("format"), problem)
                ok = False
    keys: tuple[str, ...] = ()
    xml_target: XmlTarget | None = None
    if document == "json":
        keys = tuple(spec.to.split("."))
        if not all(keys):
            ctx.issue(at("to"), "a dotted path of non-empty keys (lead.zip)")
            ok = False
    elif document == "xml":
        xml_target = _xml_target(ctx, at("to"), spec.to)
        ok = ok and xml_target is not None
    else:
        keys = (spec.to,)
        if not spec.to:
            ctx.issue(at("to"), "a field name is required")
            ok = False
    if not ok:
        return None
    return CompiledField(
        target=spec.to,
        source=spec.from_,
        static=spec.value,
        value_map=spec.map,
        as_kind=spec.as_,
        fmt=spec.format,
        default=spec.default,
        keys=keys,
        xml_target=xml_target,
    )


def marker_field(to: str, value: WireValue, body: CompiledBody) -> CompiledField | None:
    """A static field ``to`` → ``value`` added to a fields body (a test marker), or
    ``None`` when ``to`` is no name the body can hold or one its fields already set."""
    keys: tuple[str, ...] = ()
    xml_target: XmlTarget | None = None
    if body.document == "json":
        keys = tuple(to.split("."))
        if not all(keys):
            return None
    elif body.document == "xml":
        parts = re.split(r"[./]", to)
        if not to or not all(is_xml_name(part) for part in parts):
            return None
        xml_target = (tuple(parts), None)
    elif to:
        keys = (to,)
    else:
        return None
    key = keys or (xml_target[0] if xml_target else ())
    for other in body.fields:
        theirs = other.keys or (other.xml_target[0] if other.xml_target else ())
        if _collide(key, theirs, xml=False):
            return None
    return CompiledField(
        target=to,
        source=None,
        static=value,
        value_map=None,
        as_kind=None,
        fmt=None,
        default=None,
        keys=keys,
        xml_target=xml_target,
    )


def _xml_target(ctx: StepContext, path: str, to: str) -> XmlTarget | None:
    parts = re.split(r"[./]", to)
    attribute = None
    if parts and parts[-1].startswith("@"):
        attribute = parts.pop()[1:]
    if (not parts and attribute is None) or not all(is_xml_name(part) for part in parts):
        ctx.issue(path, "an element path of XML names below the root (applicant/zip)")
        return None
    if attribute is not None and not is_xml_name(attribute):
        ctx.issue(path, "not a valid XML attribute name")
        return None
    return tuple(parts), attribute


def _collide(key: tuple[str, ...], other: tuple[str, ...], *, xml: bool) -> bool:
    """Whether two targets clash: the same, or one inside the other's value. An XML
    attribute (``@id``) may sit on an element that has text or children."""
    if key == other:
        return True
    short, long = sorted((key, other), key=len)
    if long[: len(short)] != short:
        return False
    return not (xml and len(long) == len(short) + 1 and long[-1].startswith("@"))
