"""Who is calling: a campaign key for the seller API, an admin token for the admin API, a
buyer's or a supplier's own key for its party API (``api.party_auth``).

Keys are ``pt_<id>_<secret>`` found by id and checked by HMAC in constant time (DESIGN
§8.5). A verified key is remembered for a few seconds so the ping path does not query the
database per request; revoking a key takes effect at once in the process that revoked it
(:meth:`KeyChecker.forget`), within that time in the others. A rotated key's expiry is
checked on every request, cached or not. A key's last use is recorded when the cache is
refreshed, at most once a minute per key: never a database write per ping.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request

from pingtree.api.problems import Problem
from pingtree.flows.ports import Ports
from pingtree.store.secrets import ApiKeyRepository, key_hmac, parse_token

__all__ = ["ADMIN_RESPONSES", "Caller", "KeyChecker", "admin_only", "bearer_or_header"]

#: what any admin route may answer besides its own outcome, for its OpenAPI document
ADMIN_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "missing or invalid API key"},
    403: {"description": "not an admin token"},
    404: {"description": "no such entity (a route that names one by its id)"},
}

_REMEMBER_SECONDS = 5.0
#: a key's ``last_used_at`` is rewritten at most this often
_USE_PRECISION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    key_id: str
    role: str
    campaign_id: str | None
    #: the party a ``buyer`` or ``supplier`` key acts as
    buyer_id: str | None = None
    supplier_id: str | None = None


@dataclass(frozen=True)
class _Known:
    caller: Caller
    secret_hmac: str
    until: float
    #: a rotated key's end (the overlap), checked against the clock on each request
    expires_at: dt.datetime | None


class KeyChecker:
    def __init__(self, ports: Ports, server_key: bytes) -> None:
        self._ports = ports
        self.server_key = server_key
        self._known: dict[str, _Known] = {}

    async def caller(self, token: str | None) -> Caller:
        """The caller a token stands for; 401 when it is missing, malformed or unknown."""
        if not token:
            raise Problem(401, "an API key is required", "missing_api_key")
        parsed = parse_token(token)
        if parsed is None:
            raise Problem(401, "the API key is malformed", "invalid_api_key")
        key_id, secret = parsed
        now = self._ports.clock.now()
        known = self._known.get(key_id)
        if known is not None and known.until > time.monotonic():
            if known.expires_at is not None and known.expires_at <= now:
                raise Problem(401, "the API key has expired", "invalid_api_key")
            if hmac.compare_digest(known.secret_hmac, key_hmac(self.server_key, secret)):
                return known.caller
            raise Problem(401, "the API key is not valid", "invalid_api_key")
        async with self._ports.sessions() as session:
            keys = ApiKeyRepository(session)
            row = await keys.verify(token, self.server_key, now)
            if row is None:
                raise Problem(401, "the API key is not valid", "invalid_api_key")
            caller = Caller(row.id, row.role, row.campaign_id, row.buyer_id, row.supplier_id)
            remembered = _Known(
                caller, row.secret_hmac, time.monotonic() + _REMEMBER_SECONDS, row.expires_at
            )
            if row.last_used_at is None or row.last_used_at <= now - _USE_PRECISION:
                await keys.note_use(row.id, now, _USE_PRECISION)
                await session.commit()
        self._known[key_id] = remembered
        return caller

    def forget(self, key_id: str) -> None:
        """Drop what is remembered of ``key_id``: its next request is checked against the
        database (after a revocation or a rotation in this process)."""
        self._known.pop(key_id, None)


def bearer_or_header(request: Request) -> str | None:
    """A key from ``Authorization: Bearer`` or ``X-Api-Key``."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-key") or None


def admin_only(keys: KeyChecker) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency admitting admin tokens only: 401 without a valid key, 403 for another
    role."""

    async def admin(request: Request) -> Caller:
        caller = await keys.caller(bearer_or_header(request))
        if caller.role != "admin":
            raise Problem(403, "an admin token is required", "forbidden")
        return caller

    return admin
