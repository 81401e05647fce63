"""Auth kinds: which values each needs and how it marks a request (a small registry).

``none``; ``basic`` {username, password} → ``Authorization: Basic base64(user:pass)``;
``bearer`` {token} → ``Authorization: Bearer token``; ``header`` {name, value} → that
header; ``query`` {name, value} → ``name=value`` appended to the URL's query string.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pingtree.delivery.compiled import CompiledAuth, SecretRef
from pingtree.delivery.errors import RenderError

__all__ = ["AUTH_KINDS", "AuthKind", "AuthMark"]

#: resolves one configured value (a literal or a secret reference) to its text
Resolve = Callable[[str | SecretRef | None], str]


@dataclass(frozen=True, slots=True)
class AuthMark:
    """What an auth kind adds to a request: a header and/or a query parameter."""

    header: tuple[str, str] | None = None
    query: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class AuthKind:
    #: the spec keys this kind needs (and the only ones it allows besides ``type``)
    needs: tuple[str, ...]
    #: the header it sets, when fixed (checked against the step's own headers)
    header: str | None
    mark: Callable[[CompiledAuth, Resolve], AuthMark]


def _basic(auth: CompiledAuth, resolve: Resolve) -> AuthMark:
    username = resolve(auth.username)
    if ":" in username:
        raise RenderError("basic auth: the username cannot contain ':'")
    pair = f"{username}:{resolve(auth.password)}".encode()
    return AuthMark(header=("Authorization", "Basic " + base64.b64encode(pair).decode()))


def _bearer(auth: CompiledAuth, resolve: Resolve) -> AuthMark:
    return AuthMark(header=("Authorization", "Bearer " + resolve(auth.token)))


def _header(auth: CompiledAuth, resolve: Resolve) -> AuthMark:
    return AuthMark(header=(auth.name or "", resolve(auth.value)))


def _query(auth: CompiledAuth, resolve: Resolve) -> AuthMark:
    return AuthMark(query=(auth.name or "", resolve(auth.value)))


#: auth kinds by their ``type``
AUTH_KINDS: Mapping[str, AuthKind] = {
    "none": AuthKind((), None, lambda auth, resolve: AuthMark()),
    "basic": AuthKind(("username", "password"), "Authorization", _basic),
    "bearer": AuthKind(("token",), "Authorization", _bearer),
    "header": AuthKind(("name", "value"), None, _header),
    "query": AuthKind(("name", "value"), None, _query),
}
