"""One step of an order's delivery checked and compiled (:class:`StepCompiler`): its URL,
headers, auth, body, response rules and test marker, each issue at the YAML path where
it was written (:func:`pingtree.delivery.spec.compile_delivery` documents the keys).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pingtree.delivery.auth import AUTH_KINDS
from pingtree.delivery.compile_response import compile_response
from pingtree.delivery.compile_step import compile_body, marker_field
from pingtree.delivery.compiled import (
    CompiledAuth,
    CompiledBody,
    CompiledField,
    CompiledStep,
    SecretRef,
)
from pingtree.delivery.models import (
    TOKEN,
    StepSpec,
)
from pingtree.delivery.placeholders import TextTemplate, parse_placeholders
from pingtree.delivery.rules import value_text

__all__ = ["StepCompiler"]

_DEFAULT_TIMEOUT_MS = {"ping": 1_000, "post": 15_000}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# RFC 9110 token
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}")
# set by the HTTP client, never by configuration
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "idempotency-key"}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StepCompiler:
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
