"""A buyer's HTTP steps as data: the YAML shape of ``delivery:`` and its compilation.

An order's ``delivery`` has a ``post`` step (deliver the lead) and, for bid orders, a
``ping`` step (ask for a price with non-PII fields)::

    delivery:
      ping:
        url: "https://api.buyer.example/ping/{campaign}"  # {name}: a lead field, token or var
        method: POST                      # GET | POST | PUT
        headers: {X-Source: pingtree}     # values may hold {name} or be {secret: NAME}
        auth: {type: bearer, token: {secret: shield_token}}
        content_type: json                # json | xml | form | query | text
        timeout_ms: 800
        vars: {campaign: "c-42"}          # static values for {placeholders} and templates
        body:
          fields:
            - {from: state, to: lead.state, map: {FL: Florida}}
            - {from: age, to: lead.age, as: integer}
            - {value: pingtree, to: source}
          template: null      # xml/text: a sandboxed Jinja2 template instead of fields
          form_field: null    # form: the whole document in this one field
          document: null      # with form_field: xml (default) | json | text
          root: lead          # XML built from fields: the root element
        response:
          accepted: {json: "$.status", equals: [success, "1", "true"]}
          rejected: [{json: "$.status", equals: [failure]}, {status: [404]}]
          bid: {json: "$.price"}
      post:
        same_as: ping         # every key of the ping step not set here
        preset: json_status   # a step may also extend a preset (pingtree.delivery.presets)
        url: "https://api.buyer.example/post"
        retries: 2

Pydantic checks the shape (:class:`DeliverySpec`, ``extra="forbid"``);
:func:`compile_delivery` checks the meaning and compiles every expression once, reporting
every issue with its path relative to ``delivery``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
)

from pingtree.delivery.auth import AUTH_KINDS
from pingtree.delivery.compiled import (
    CONTENT_TYPES,
    CompiledAuth,
    CompiledBody,
    CompiledDelivery,
    CompiledField,
    CompiledResponse,
    CompiledStep,
    SecretRef,
)
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.placeholders import TextTemplate, parse_placeholders
from pingtree.delivery.presets import PRESETS
from pingtree.delivery.rules import RULE_KINDS, CompiledRule, compile_re2
from pingtree.delivery.templates import CompiledTemplate, compile_template
from pingtree.delivery.values import PHONE_FORMATS, WireValue, check_date_format
from pingtree.delivery.xml import XmlTarget, is_xml_name

__all__ = [
    "AuthSpec",
    "BodySpec",
    "CompiledDelivery",
    "CompiledStep",
    "DeliveryConfigError",
    "DeliverySpec",
    "FieldMapSpec",
    "ResponseSpec",
    "RuleSpec",
    "SecretRef",
    "StepSpec",
    "compile_delivery",
]

#: the buyer's token from its ping answer, usable in a post step
TOKEN = "token"

_DEFAULT_TIMEOUT_MS = {"ping": 1_000, "post": 15_000}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_SECRET_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# RFC 9110 token
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}")
# set by the HTTP client, never by configuration
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "idempotency-key"}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- scalar types --------------------------------------------------------------------------


def _secret_ref(raw: object) -> SecretRef | None:
    if isinstance(raw, Mapping) and set(raw) == {"secret"}:
        name = raw["secret"]
        if isinstance(name, str) and _SECRET_NAME.fullmatch(name):
            return SecretRef(name)
        raise ValueError("a secret name is letters, digits, '_', '.', '-' (at most 64)")
    return None


def _secretable(raw: object) -> str | SecretRef:
    if isinstance(raw, str):
        return raw
    ref = _secret_ref(raw)
    if ref is None:
        raise ValueError("must be a string or {secret: NAME}")
    return ref


def _scalar(raw: object) -> WireValue:
    if isinstance(raw, str | bool | int | Decimal):
        return raw
    if isinstance(raw, float):
        value = Decimal(str(raw))
        if value.is_finite():
            return value
    raise ValueError("must be a string, a number or a boolean")


def _static(raw: object) -> WireValue | SecretRef:
    ref = _secret_ref(raw)
    return ref if ref is not None else _scalar(raw)


_SCALAR_SCHEMA: Any = str | int | float | bool
_SECRET_SCHEMA: Any = str | dict[str, str]

#: a string, or ``{secret: NAME}``
Secretable: TypeAlias = Annotated[
    str | SecretRef, PlainValidator(_secretable, json_schema_input_type=_SECRET_SCHEMA)
]
#: a string, number (a float is read as ``Decimal(str(x))``) or boolean
Scalar: TypeAlias = Annotated[
    WireValue, PlainValidator(_scalar, json_schema_input_type=_SCALAR_SCHEMA)
]
StaticValue: TypeAlias = Annotated[
    WireValue | SecretRef,
    PlainValidator(_static, json_schema_input_type=_SCALAR_SCHEMA | dict[str, str]),
]


# --- the models ----------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthSpec(_Spec):
    """``none``; ``basic`` {username, password}; ``bearer`` {token}; ``header`` {name,
    value}; ``query`` {name, value}. Values may be ``{secret: NAME}`` (not ``name``)."""

    type: Literal["none", "basic", "bearer", "header", "query"]
    username: Secretable | None = None
    password: Secretable | None = None
    token: Secretable | None = None
    name: str | None = None
    value: Secretable | None = None


class FieldMapSpec(_Spec):
    """One body entry: ``from`` a lead field (or ``token``) or a static ``value``, ``to``
    the buyer's name; then ``map`` (keyed by our value's text), ``format`` (a phone
    format or a date pattern) and ``as`` (the buyer's type), in that order. ``default``
    is sent as written when the lead lacks the field; without it the entry is left out."""

    from_: str | None = Field(default=None, alias="from")
    value: StaticValue | None = None
    to: str
    map: dict[str, Scalar] | None = None
    as_: Literal["string", "integer", "decimal", "boolean", "yn", "yes_no", "one_zero"] | None = (
        Field(default=None, alias="as")
    )
    format: str | None = None
    default: Scalar | None = None


class BodySpec(_Spec):
    fields: list[FieldMapSpec] | None = None
    template: str | None = None
    form_field: str | None = None
    document: Literal["xml", "json", "text"] | None = None
    root: str | None = None


class RuleSpec(_Spec):
    """Reads by exactly one of ``json``, ``xpath``, ``regex``, ``status``, ``header``;
    tests with ``equals`` (case-insensitive), ``matches`` (RE2) and ``present``."""

    json_: str | None = Field(default=None, alias="json")
    xpath: str | None = None
    regex: str | None = None
    status: list[int] | None = None
    header: str | None = None
    equals: list[Scalar] | None = None
    matches: str | None = None
    present: bool | None = None


def _one_or_many(raw: object) -> str:
    return "rules" if isinstance(raw, list) else "rule"


#: one rule, or a list of which any may hold
RuleOrRules: TypeAlias = Annotated[
    Annotated[RuleSpec, Tag("rule")] | Annotated[list[RuleSpec], Tag("rules")],
    Discriminator(_one_or_many),
]


class ResponseSpec(_Spec):
    accepted: RuleOrRules | None = None
    rejected: RuleOrRules | None = None
    bid: RuleSpec | None = None
    token: RuleSpec | None = None
    redirect_url: RuleSpec | None = None
    reason: RuleSpec | None = None


class StepSpec(_Spec):
    """One HTTP step. Every key is optional here so that ``same_as`` can fill it in;
    :func:`compile_delivery` requires ``url`` of the resolved step."""

    same_as: str | None = None
    preset: str | None = None
    url: str | None = None
    method: Literal["GET", "POST", "PUT"] | None = None
    headers: dict[str, Secretable] | None = None
    auth: AuthSpec | None = None
    content_type: Literal["json", "xml", "form", "query", "text"] | None = None
    timeout_ms: int | None = Field(default=None, ge=1, le=120_000)
    retries: int | None = Field(default=None, ge=0, le=5)
    vars: dict[str, Secretable] | None = None
    body: BodySpec | None = None
    response: ResponseSpec | None = None


class DeliverySpec(_Spec):
    ping: StepSpec | None = None
    post: StepSpec | None = None


#: the presets of :mod:`pingtree.delivery.presets`, validated once
_PRESETS = {name: StepSpec.model_validate(raw) for name, raw in PRESETS.items()}


# --- compiling -----------------------------------------------------------------------------


def compile_delivery(
    raw: Mapping[str, object], pii_fields: frozenset[str], known_fields: frozenset[str]
) -> CompiledDelivery:
    """An order's ``delivery`` mapping, checked and compiled once for the snapshot.

    ``known_fields`` are the vertical's field names (tracking fields included) and
    ``pii_fields`` the PII ones among them. Raises :class:`DeliveryConfigError` carrying
    every issue as ``(path, msg)``, paths relative to ``delivery``: shape errors first
    (unknown keys, wrong types; nothing else is checked then), else every meaning error:
    a missing ``post`` or ``url``, an unresolved ``same_as``, a URL that is not http(s) or
    has a placeholder in its host, an unknown ``from``/placeholder/template name, a PII
    field anywhere in a ping step ("PII never goes into a ping"), ``token`` outside a post
    step, ``retries`` on a ping, CR/LF in headers, JSONPaths, XPaths, RE2 patterns and
    templates that do not compile, rules without a test, a ping without a bid rule.
    """
    try:
        spec = DeliverySpec.model_validate(raw)
    except ValidationError as exc:
        raise DeliveryConfigError(_shape_issues(raw, exc)) from None
    issues: list[tuple[str, str]] = []
    ping = post = None
    ping_spec = None if spec.ping is None else _apply_preset("ping", spec.ping, issues)
    if ping_spec is not None:
        if ping_spec.same_as is not None:
            issues.append(("ping.same_as", "only a post step can be the same as another"))
        ping = _StepCompiler("ping", ping_spec, {}, pii_fields, known_fields, issues).compile()
    if spec.post is None:
        issues.append(("post", "a delivery needs a post step"))
    else:
        post_spec = _apply_preset("post", spec.post, issues)
        merged, sources = _resolve_same_as(ping_spec, post_spec, issues)
        post = _StepCompiler("post", merged, sources, pii_fields, known_fields, issues).compile()
    if issues or post is None:
        raise DeliveryConfigError(dict.fromkeys(issues))  # an inherited issue counts once
    return CompiledDelivery(ping=ping, post=post)


def _apply_preset(name: str, step: StepSpec, issues: list[tuple[str, str]]) -> StepSpec:
    """``step`` with the keys of its preset it does not set (rule by rule under
    ``response``)."""
    if step.preset is None:
        return step
    preset = _PRESETS.get(step.preset)
    if preset is None:
        known = ", ".join(sorted(_PRESETS))
        issues.append((f"{name}.preset", f"unknown preset {step.preset!r} (known: {known})"))
        return step
    own = step.model_fields_set
    update = {key: getattr(preset, key) for key in preset.model_fields_set if key not in own}
    if step.response is not None and preset.response is not None:
        rules = step.response.model_fields_set
        inherited = {
            key: getattr(preset.response, key)
            for key in preset.response.model_fields_set
            if key not in rules
        }
        update["response"] = step.response.model_copy(update=inherited)
    return step.model_copy(update=update)


def _resolve_same_as(
    ping: StepSpec | None, post: StepSpec, issues: list[tuple[str, str]]
) -> tuple[StepSpec, dict[str, str]]:
    """The post step with the ping's keys it does not set, and where each key came from."""
    if post.same_as is None:
        return post, {}
    if post.same_as != "ping":
        issues.append(("post.same_as", f"unknown step {post.same_as!r}: only 'ping'"))
        return post, {}
    if ping is None:
        issues.append(("post.same_as", "there is no ping step to be the same as"))
        return post, {}
    own = post.model_fields_set - {"same_as", "preset"}
    inherited = {key for key in ping.model_fields_set if key not in own | {"same_as", "preset"}}
    # ``retries`` is post-only: refused on the ping, never inherited
    inherited.discard("retries")
    update = {key: getattr(ping, key) for key in inherited}
    return post.model_copy(update=update), dict.fromkeys(inherited, "ping")


class _StepCompiler:
    """Compiles one resolved step, appending issues; ``sources`` maps a top-level key to
    the step it was inherited from, so an issue is reported where it was written."""

    def __init__(
        self,
        name: str,
        spec: StepSpec,
        sources: Mapping[str, str],
        pii: frozenset[str],
        known: frozenset[str],
        issues: list[tuple[str, str]],
    ) -> None:
        self.name = name
        self.spec = spec
        self.sources = sources
        self.pii = pii
        self.known = known
        self.issues = issues
        self.vars: dict[str, str | SecretRef] = {}
        self.used: set[str] = set()
        self.start = len(issues)

    def at(self, key: str, *rest: str | int) -> str:
        path = f"{self.sources.get(key, self.name)}.{key}"
        for part in rest:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        return path

    def issue(self, path: str, msg: str) -> None:
        self.issues.append((path, msg))

    def compile(self) -> CompiledStep | None:
        spec = self.spec
        is_ping = self.name == "ping"
        self.vars = self._vars()
        url = self._url()
        content_type = spec.content_type or "json"
        method = spec.method or "POST"
        if is_ping and spec.retries is not None:
            self.issue(self.at("retries"), "a ping is never re-sent: retries is for a post step")
        headers = self._headers()
        auth = self._auth({name.lower() for name, _ in headers})
        body = self._body(content_type)
        if method == "GET" and body is not None and not body.in_query:
            self.issue(self.at("method"), "a GET sends no body: use content_type query")
        response = self._response(is_ping)
        if len(self.issues) > self.start or url is None or response is None:
            return None
        return CompiledStep(
            name=self.name,
            method=method,
            content_type=content_type,
            timeout_ms=spec.timeout_ms or _DEFAULT_TIMEOUT_MS[self.name],
            retries=0 if is_ping else (spec.retries or 0),
            fields_used=frozenset(self.used),
            url=url,
            headers=headers,
            auth=auth,
            body=body,
            response=response,
            vars=self.vars,
        )

    # --- names -----------------------------------------------------------------------

    def check_name(self, path: str, name: str, *, what: str) -> None:
        """A name a step reads (``from``, a placeholder, a template variable)."""
        if name == TOKEN:
            if self.name == "ping":
                self.issue(path, "token is the buyer's answer to the ping: post steps only")
        elif name in self.known:
            if self.name == "ping" and name in self.pii:
                self.issue(path, f"PII never goes into a ping ({what} {name!r})")
            self.used.add(name)
        elif name not in self.vars:
            self.issue(path, f"unknown {what} {name!r}: not a field of the vertical")

    def _vars(self) -> dict[str, str | SecretRef]:
        out: dict[str, str | SecretRef] = {}
        for name, value in (self.spec.vars or {}).items():
            path = self.at("vars", name)
            if not _IDENTIFIER.fullmatch(name):
                self.issue(path, "a var name is an identifier")
            elif name == TOKEN or name in self.known:
                self.issue(path, f"{name!r} is already a field name (or the buyer's token)")
            elif isinstance(value, str) and _CONTROL.search(value):
                self.issue(path, "control characters (CR/LF…) are not allowed")
            else:
                out[name] = value
        return out

    def _placeholders(self, path: str, text: str) -> TextTemplate | None:
        try:
            template = parse_placeholders(text)
        except ValueError as exc:
            self.issue(path, str(exc))
            return None
        for name in sorted(template.names):
            self.check_name(path, name, what="placeholder")
        return template

    # --- url, headers, auth ----------------------------------------------------------------

    def _url(self) -> TextTemplate | None:
        path = self.at("url")
        if self.spec.url is None:
            self.issue(path, "required")
            return None
        if _CONTROL.search(self.spec.url) or " " in self.spec.url:
            self.issue(path, "spaces and control characters are not allowed in a URL")
            return None
        template = self._placeholders(path, self.spec.url)
        if template is None:
            return None
        prefix = template.prefix_before_first()
        parts = urlsplit(prefix)
        if parts.scheme not in ("http", "https") or "://" not in prefix:
            self.issue(path, "must be an http:// or https:// URL")
        elif template.names and not re.search(r"://[^/?#]*[/?#]", prefix):
            self.issue(path, "placeholders may not appear in the host")
        elif not parts.hostname:
            self.issue(path, "the URL has no host")
        elif "@" in parts.netloc:
            self.issue(path, "credentials in the URL: use auth")
        elif "#" in template.literal:
            self.issue(path, "a URL sent to a buyer has no fragment (#)")
        return template

    def _headers(self) -> tuple[tuple[str, TextTemplate | SecretRef], ...]:
        out: list[tuple[str, TextTemplate | SecretRef]] = []
        for name, value in (self.spec.headers or {}).items():
            path = self.at("headers", name)
            if not _HEADER_NAME.fullmatch(name):
                self.issue(path, "not a valid header name")
            elif name.lower() in _RESERVED_HEADERS:
                self.issue(path, "set by the HTTP client, not by configuration")
            elif isinstance(value, SecretRef):
                out.append((name, value))
            elif _CONTROL.search(value):
                self.issue(path, "CR, LF and other control characters are not allowed")
            else:
                template = self._placeholders(path, value)
                if template is not None:
                    out.append((name, template))
        return tuple(out)

    def _auth(self, header_names: set[str]) -> CompiledAuth:
        spec = self.spec.auth
        if spec is None:
            return CompiledAuth()
        kind = AUTH_KINDS[spec.type]
        ok = True
        for key in ("username", "password", "token", "name", "value"):
            value = getattr(spec, key)
            path = self.at("auth", key)
            if key in kind.needs and value is None:
                self.issue(path, f"required for auth type {spec.type}")
                ok = False
            elif key not in kind.needs and value is not None:
                self.issue(path, f"not used by auth type {spec.type}")
                ok = False
            elif isinstance(value, str) and _CONTROL.search(value):
                self.issue(path, "control characters (CR/LF…) are not allowed")
                ok = False
        if spec.type == "header" and spec.name is not None:
            if not _HEADER_NAME.fullmatch(spec.name):
                self.issue(self.at("auth", "name"), "not a valid header name")
                ok = False
            elif spec.name.lower() in header_names | _RESERVED_HEADERS:
                self.issue(self.at("auth", "name"), f"header {spec.name} is already set")
                ok = False
        if spec.type == "query" and not spec.name:
            self.issue(self.at("auth", "name"), "a query parameter name is required")
            ok = False
        if spec.type == "basic" and isinstance(spec.username, str) and ":" in spec.username:
            self.issue(self.at("auth", "username"), "a basic-auth username cannot contain ':'")
            ok = False
        if kind.header is not None and kind.header.lower() in header_names:
            self.issue(self.at("auth"), f"headers already set {kind.header}")
            ok = False
        if not ok:
            return CompiledAuth()
        return CompiledAuth(
            kind=spec.type,
            username=spec.username,
            password=spec.password,
            token=spec.token,
            name=spec.name,
            value=spec.value,
        )

    # --- body ------------------------------------------------------------------------------

    def _body(self, content_type: str) -> CompiledBody | None:
        spec = self.spec.body
        if spec is None:
            return None
        base = CONTENT_TYPES[content_type].document
        document = base
        if spec.form_field is not None:
            if content_type != "form":
                self.issue(self.at("body", "form_field"), "only with content_type form")
            elif not spec.form_field:
                self.issue(self.at("body", "form_field"), "a form field name is required")
            document = spec.document or "xml"
        elif spec.document is not None:
            self.issue(self.at("body", "document"), "only with form_field")
        if (spec.fields is None) == (spec.template is None):
            self.issue(self.at("body"), "exactly one of fields and template")
            return None
        if spec.root is not None and (document != "xml" or spec.template is not None):
            self.issue(self.at("body", "root"), "only for an XML body built from fields")
        root = spec.root or "lead"
        if not is_xml_name(root):
            self.issue(self.at("body", "root"), "not a valid XML element name")
        template = None
        fields: tuple[CompiledField, ...] = ()
        if spec.template is not None:
            template = self._template(spec.template, document)
        elif spec.fields is not None:
            if document == "text":
                self.issue(self.at("body", "fields"), "a text body comes from a template")
            else:
                fields = self._fields(spec.fields, document)
        return CompiledBody(
            document=document,
            fields=fields,
            template=template,
            root=root,
            form_field=spec.form_field,
            in_query=content_type == "query",
        )

    def _template(self, source: str, document: str) -> CompiledTemplate | None:
        path = self.at("body", "template")
        if document not in ("xml", "text"):
            self.issue(
                path,
                "templates are for XML and text bodies; JSON, form and query bodies are "
                "built from fields so a value cannot change their structure",
            )
            return None
        try:
            template = compile_template(source, document)
        except ValueError as exc:
            self.issue(path, str(exc))
            return None
        for name in sorted(template.names):
            self.check_name(path, name, what="template variable")
        return template

    def _fields(self, specs: Sequence[FieldMapSpec], document: str) -> tuple[CompiledField, ...]:
        out: list[CompiledField] = []
        taken: list[tuple[str, ...]] = []
        for index, spec in enumerate(specs):
            compiled = self._field(index, spec, document)
            if compiled is None:
                continue
            key = compiled.keys
            if compiled.xml_target is not None:
                elements, attribute = compiled.xml_target
                key = elements if attribute is None else (*elements, "@" + attribute)
            xml = compiled.xml_target is not None
            if any(_collide(key, other, xml=xml) for other in taken):
                self.issue(
                    self.at("body", "fields", index, "to"),
                    f"{spec.to!r} repeats or contains another field's target",
                )
                continue
            taken.append(key)
            out.append(compiled)
        return tuple(out)

    def _field(self, index: int, spec: FieldMapSpec, document: str) -> CompiledField | None:
        def at(key: str) -> str:
            return self.at("body", "fields", index, key)

        ok = True
        if (spec.from_ is None) == (spec.value is None):
            self.issue(self.at("body", "fields", index), "exactly one of from and value")
            ok = False
        if spec.from_ is not None:
            before = len(self.issues)
            if spec.from_ not in self.known and spec.from_ != TOKEN:
                self.issue(at("from"), f"unknown field {spec.from_!r}")
            else:
                self.check_name(at("from"), spec.from_, what="field")
            ok = ok and len(self.issues) == before
        if spec.value is not None and spec.default is not None:
            self.issue(at("default"), "a static value needs no default")
            ok = False
        if spec.format is not None:
            if spec.as_ not in (None, "string"):
                self.issue(at("format"), f"a formatted value is text: not with as {spec.as_}")
                ok = False
            elif spec.format not in PHONE_FORMATS:
                problem = check_date_format(spec.format)
                if problem is not None:
                    self.issue(at("format"), problem)
                    ok = False
        keys: tuple[str, ...] = ()
        xml_target: XmlTarget | None = None
        if document == "json":
            keys = tuple(spec.to.split("."))
            if not all(keys):
                self.issue(at("to"), "a dotted path of non-empty keys (lead.zip)")
                ok = False
        elif document == "xml":
            xml_target = self._xml_target(at("to"), spec.to)
            ok = ok and xml_target is not None
        else:
            keys = (spec.to,)
            if not spec.to:
                self.issue(at("to"), "a field name is required")
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

    def _xml_target(self, path: str, to: str) -> XmlTarget | None:
        parts = re.split(r"[./]", to)
        attribute = None
        if parts and parts[-1].startswith("@"):
            attribute = parts.pop()[1:]
        if (not parts and attribute is None) or not all(is_xml_name(part) for part in parts):
            self.issue(path, "an element path of XML names below the root (applicant/zip)")
            return None
        if attribute is not None and not is_xml_name(attribute):
            self.issue(path, "not a valid XML attribute name")
            return None
        return tuple(parts), attribute

    # --- response ----------------------------------------------------------------------------

    def _response(self, is_ping: bool) -> CompiledResponse | None:
        spec = self.spec.response or ResponseSpec()
        before = len(self.issues)
        accepted = self._rules(spec.accepted, "accepted")
        rejected = self._rules(spec.rejected, "rejected")
        values: dict[str, CompiledRule | None] = {}
        for key in ("bid", "token", "redirect_url", "reason"):
            rule_spec: RuleSpec | None = getattr(spec, key)
            values[key] = None
            if rule_spec is not None:
                values[key] = self._rule(rule_spec, self.at("response", key), verdict=False)
        if is_ping and spec.bid is None:
            self.issue(self.at("response", "bid"), "a ping step must read the buyer's bid")
        if len(self.issues) > before:
            return None
        return CompiledResponse(accepted=accepted, rejected=rejected, **values)

    def _rules(
        self, spec: RuleSpec | list[RuleSpec] | None, key: str
    ) -> tuple[CompiledRule, ...] | None:
        if spec is None:
            return None
        if isinstance(spec, RuleSpec):
            items = [(self.at("response", key), spec)]
        else:
            if not spec:
                self.issue(self.at("response", key), "at least one rule")
            items = [(self.at("response", key, i), rule) for i, rule in enumerate(spec)]
        rules = [self._rule(rule, path, verdict=True) for path, rule in items]
        return tuple(rule for rule in rules if rule is not None)

    def _rule(self, spec: RuleSpec, path: str, *, verdict: bool) -> CompiledRule | None:
        given = {
            kind: value
            for kind, value in (
                ("json", spec.json_),
                ("xpath", spec.xpath),
                ("regex", spec.regex),
                ("status", spec.status),
                ("header", spec.header),
            )
            if value is not None
        }
        if len(given) != 1:
            self.issue(path, "exactly one of " + ", ".join(RULE_KINDS) + " says what to read")
            return None
        ((kind, raw),) = given.items()
        ok = True
        try:
            reader = RULE_KINDS[kind](raw)
        except ValueError as exc:
            self.issue(f"{path}.{kind}", str(exc))
            ok = False
        if not verdict and kind == "status":
            self.issue(
                f"{path}.status", "a status code is not a value: use it in accepted/rejected"
            )
            ok = False
        tested = spec.equals is not None or spec.matches is not None or spec.present is not None
        if verdict and kind != "status" and not tested:
            self.issue(path, "say what holds: equals, matches or present")
            ok = False
        if spec.present is False and (spec.equals is not None or spec.matches is not None):
            self.issue(f"{path}.present", "present: false cannot be combined with other tests")
            ok = False
        if spec.equals is not None and not spec.equals:
            self.issue(f"{path}.equals", "at least one value")
            ok = False
        matches = None
        if spec.matches is not None:
            try:
                matches = compile_re2(spec.matches)
            except ValueError as exc:
                self.issue(f"{path}.matches", str(exc))
                ok = False
        if not ok:
            return None
        equals = None
        if spec.equals is not None:
            equals = frozenset(_equals_text(value) for value in spec.equals)
        return CompiledRule(reader=reader, equals=equals, matches=matches, present=spec.present)


def _collide(key: tuple[str, ...], other: tuple[str, ...], *, xml: bool) -> bool:
    """Whether two targets clash: the same, or one inside the other's value. An XML
    attribute (``@id``) may sit on an element that has text or children."""
    if key == other:
        return True
    short, long = sorted((key, other), key=len)
    if long[: len(short)] != short:
        return False
    return not (xml and len(long) == len(short) + 1 and long[-1].startswith("@"))


def _equals_text(value: WireValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value).strip().casefold()


# --- shape errors ----------------------------------------------------------------------------

_UNION_TAGS = frozenset({"rule", "rules"})


def _shape_issues(raw: object, exc: ValidationError) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False, include_input=False):
        issues.append((_loc_path(raw, error["loc"]), error["msg"]))
    return list(dict.fromkeys(issues))


def _loc_path(raw: object, loc: Sequence[int | str]) -> str:
    """A pydantic ``loc`` as a YAML path, without the union tags pydantic inserts."""
    path = ""
    node: object = raw
    for part in loc:
        if (
            isinstance(part, str)
            and part in _UNION_TAGS
            and not (isinstance(node, Mapping) and part in node)
        ):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
        else:
            path += f".{part}" if path else part
            node = node.get(part) if isinstance(node, Mapping) else None
    return path
