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
        retries: 1                        # a ping is re-sent on a refused connection only,
                                          # within its deadline (a post: also on 429/502/503)
        vars: {campaign: "c-42"}          # static values for {placeholders} and templates
        body:
          fields:
            - {from: state, to: lead.state, map: {FL: Florida}}
            - {from: age, to: lead.age, as: integer}
            - {value: pingtree, to: source}
          template: null      # xml/text: a sandboxed Jinja2 template instead of fields,
                              # values escaped for the Content-Type sent (XML, form,
                              # CSV, plain text; never JSON: build that from fields)
          form_field: null    # form: the whole document in this one field
          document: null      # with form_field: xml (default) | json | text
          root: lead          # XML built from fields: the root element
          documents:          # form/query: more fields, each a whole document
            - {to: lead_xml, document: xml, root: Lead, fields: [{from: zip, to: Zip}]}
            - {to: tracking, document: json, fields: [{from: sub_id, to: source.sub}]}
        response:
          accepted: {json: "$.status", equals: [success, "1", "true"]}   # also matches,
                                          # present, and numbers: gt, ge, lt, le
          rejected: [{json: "$.status", equals: [failure]}, {status: [404]}]
          bid: {json: "$.price"}          # a fixed-price order's ping reads no bid: it is
                                          # accept-only (accepted/rejected, token, reason)
      post:
        same_as: ping         # every key of the ping step not set here
        preset: json_status   # a step may also extend a preset (pingtree.delivery.presets)
        url: "https://api.buyer.example/post"
        retries: 2
        test_marker: {header: X-Test-Lead, value: "1"}   # or {field: test, value: true}:
                              # what marks a test-buyer request; never sent with a real lead
      chain:                  # after a sold lead's post, in order, from the outbox
        - name: crm           # in the delivery log and on the lead's page
          url: "https://crm.buyer.example/hook"
          continue_on_success: true   # false: a success ends the chain (the rest are
                                      # fallbacks); after a failure the next step runs
          retries: 2          # every key of a post step (preset too; same_as not)
          body: {fields: [{from: email, to: email}, {from: token, to: ref}]}
          response: {accepted: {status: [200, 201]}}

Pydantic checks the shape (:class:`DeliverySpec`, ``extra="forbid"``);
:func:`compile_delivery` checks the meaning and compiles every expression once, reporting
every issue with its path relative to ``delivery``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import ValidationError

from pingtree.delivery.auth import AUTH_KINDS
from pingtree.delivery.compile_response import compile_response
from pingtree.delivery.compile_step import compile_body, marker_field
from pingtree.delivery.compiled import (
    ChainLink,
    CompiledAuth,
    CompiledBody,
    CompiledDelivery,
    CompiledField,
    CompiledLimits,
    CompiledStep,
    SecretRef,
)
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.models import (
    TOKEN,
    AuthSpec,
    BodySpec,
    DeliverySpec,
    FieldMapSpec,
    ResponseSpec,
    RuleSpec,
    StepSpec,
)
from pingtree.delivery.placeholders import TextTemplate, parse_placeholders
from pingtree.delivery.resolve import apply_preset, resolve_same_as, shape_issues
from pingtree.delivery.rules import value_text

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

_DEFAULT_TIMEOUT_MS = {"ping": 1_000, "post": 15_000}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# RFC 9110 token
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}")
# set by the HTTP client, never by configuration
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "idempotency-key"}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- compiling -----------------------------------------------------------------------------


def compile_delivery(
    raw: Mapping[str, object],
    pii_fields: frozenset[str],
    known_fields: frozenset[str],
    *,
    fixed_price: bool = False,
) -> CompiledDelivery:
    """An order's ``delivery`` mapping, checked and compiled once for the snapshot.

    ``known_fields`` are the vertical's field names (tracking fields included) and
    ``pii_fields`` the PII ones among them. Raises :class:`DeliveryConfigError` carrying
    every issue as ``(path, msg)``, paths relative to ``delivery``: shape errors first
    (unknown keys, wrong types; nothing else is checked then), else every meaning error:
    a missing ``post`` or ``url``, an unresolved ``same_as`` or ``preset``, a URL that is
    not http(s) or has a placeholder in its host, an unknown ``from``/placeholder/template
    name, a PII field anywhere in a ping step ("PII never goes into a ping"), ``token``
    outside a post step, ``on_unknown`` on a ping, CR/LF in headers, JSONPaths, XPaths, RE2
    patterns and templates that do not compile, JSONPaths and XPaths whose cost grows
    faster than the answer (:mod:`pingtree.delivery.jsonpaths`), a template sent as a type
    its values cannot be escaped for (JSON above all), rules without a test, a ping
    without a bid rule. With ``fixed_price`` (an order of ``pricing: fixed``) the ping is
    accept-only: it reads accepted or rejected, a token and a reason, never a bid (the
    price is the order's).
    """
    try:
        spec = DeliverySpec.model_validate(raw)
    except ValidationError as exc:
        raise DeliveryConfigError(shape_issues(raw, exc)) from None
    issues: list[tuple[str, str]] = []
    ping = post = None
    ping_spec = None if spec.ping is None else apply_preset("ping", spec.ping, issues)
    if ping_spec is not None:
        if ping_spec.same_as is not None:
            issues.append(("ping.same_as", "only a post step can be the same as another"))
        ping = _StepCompiler(
            "ping", ping_spec, {}, pii_fields, known_fields, issues, fixed_price=fixed_price
        ).compile()
    if spec.post is None:
        issues.append(("post", "a delivery needs a post step"))
    else:
        post_spec = apply_preset("post", spec.post, issues)
        merged, sources = resolve_same_as(ping_spec, post_spec, issues)
        post = _StepCompiler("post", merged, sources, pii_fields, known_fields, issues).compile()
    chain = _chain(spec, pii_fields, known_fields, issues)
    if issues or post is None:
        raise DeliveryConfigError(dict.fromkeys(issues))  # an inherited issue counts once
    limits = CompiledLimits(
        max_concurrent=spec.limits.max_concurrent,
        per_second=spec.limits.per_second,
        breaker_failures=spec.limits.breaker.failures,
        breaker_cooldown_s=spec.limits.breaker.cooldown_seconds,
    )
    return CompiledDelivery(ping=ping, post=post, limits=limits, chain=chain)


def _chain(
    spec: DeliverySpec,
    pii_fields: frozenset[str],
    known_fields: frozenset[str],
    issues: list[tuple[str, str]],
) -> tuple[ChainLink, ...]:
    """The steps after the post, each compiled as a post step (PII and the token allowed:
    they carry the sold lead) at ``chain[i]``."""
    links: list[ChainLink] = []
    names: set[str] = set()
    for index, raw in enumerate(spec.chain):
        at = f"chain[{index}]"
        if raw.name in names:
            issues.append((f"{at}.name", f"{raw.name!r} names another step of the chain"))
        names.add(raw.name)
        if raw.same_as is not None:
            issues.append((f"{at}.same_as", "a chain step is written whole (or from a preset)"))
        step_spec = apply_preset(at, raw, issues)
        step = _StepCompiler(at, step_spec, {}, pii_fields, known_fields, issues).compile()
        if step is not None:
            links.append(ChainLink(raw.name, step, raw.continue_on_success))
    return tuple(links)


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
        *,
        fixed_price: bool = False,
    ) -> None:
        self.name = name
        self.fixed_price = fixed_price
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

    @property
    def count(self) -> int:
        return len(self.issues)

    def compile(self) -> CompiledStep | None:
        spec = self.spec
        is_ping = self.name == "ping"
        self.vars = self._vars()
        url = self._url()
        content_type = spec.content_type or "json"
        method = spec.method or "POST"
        if is_ping and spec.on_unknown is not None:
            self.issue(self.at("on_unknown"), "a ping is never re-sent: on_unknown is for a post")
        headers = self._headers()
        auth = self._auth({name.lower() for name, _ in headers})
        declared = next(
            ((n, v) for n, v in (spec.headers or {}).items() if n.lower() == "content-type"), None
        )
        body = compile_body(self, spec.body, content_type, declared)
        if method == "GET" and body is not None and not body.in_query:
            self.issue(self.at("method"), "a GET sends no body: use content_type query")
        response = compile_response(
            self, spec.response, is_ping=is_ping, accept_only=is_ping and self.fixed_price
        )
        test_header, test_field = self._test_marker(headers, body)
        if len(self.issues) > self.start or url is None or response is None:
            return None
        return CompiledStep(
            name=self.name,
            method=method,
            content_type=content_type,
            timeout_ms=spec.timeout_ms or _DEFAULT_TIMEOUT_MS.get(self.name, 15_000),
            retries=spec.retries or 0,
            on_unknown=spec.on_unknown or "hold",
            fields_used=frozenset(self.used),
            url=url,
            headers=headers,
            auth=auth,
            body=body,
            response=response,
            vars=self.vars,
            test_header=test_header,
            test_field=test_field,
        )

    def _test_marker(
        self,
        headers: tuple[tuple[str, TextTemplate | SecretRef], ...],
        body: CompiledBody | None,
    ) -> tuple[tuple[str, TextTemplate] | None, CompiledField | None]:
        spec = self.spec.test_marker
        if spec is None:
            return None, None
        path = self.at("test_marker")
        if (spec.header is None) == (spec.field is None):
            self.issue(path, "exactly one of header and field")
            return None, None
        value = value_text(spec.value)
        if spec.header is not None:
            taken = {name.lower() for name, _ in headers} | _RESERVED_HEADERS
            if not _HEADER_NAME.fullmatch(spec.header) or spec.header.lower() in taken:
                self.issue(f"{path}.header", "a valid header name the step does not set")
                return None, None
            if _CONTROL.search(value) or "{" in value:
                self.issue(f"{path}.value", "plain text: no control characters nor {")
                return None, None
            return (spec.header, parse_placeholders(value)), None
        if body is None or body.template is not None or body.document == "text":
            self.issue(f"{path}.field", "a body built from fields: use a header otherwise")
            return None, None
        marker = marker_field(spec.field or "", spec.value, body)
        if marker is None:
            self.issue(f"{path}.field", "not a name the body can hold, or one it already sets")
        return None, marker

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
