"""Campaign API keys, as plain dicts: the admin API's routes and the UI's keys page both call
these (DESIGN §8.5: keys are secrets).

A key's token is returned once, by :func:`create_key` and :func:`rotate_key`; afterwards only
its id, name and dates are shown. Every function takes the principal and keeps to its scope
(``api.scoping``): admins and operators manage every campaign's keys (:func:`may_manage_keys`),
analysts only read the list; a ``supplier`` user manages its own campaigns' keys (the supplier
portal) and learns nothing of the others' (another supplier's campaign or key is
:class:`~pingtree.flows.errors.NotFound`, as if it did not exist); a buyer's user sees none
(:class:`~pingtree.principals.Forbidden`).

Rotating a key makes a new one and lets the old one work for the overlap the operator picks
(``overlap_hours``, 0 to :data:`MAX_OVERLAP_HOURS`), then it stops. Revoking stops a key at
once. Both take effect at once in this process (``KeyChecker.forget``), within the checker's
few seconds of memory in the others. An unknown campaign or key raises
:class:`~pingtree.flows.errors.NotFound`.

**Party keys** (``buyer`` and ``supplier`` keys, ``api.party_auth``) act as one buyer or one
supplier on its party API. Staff who may operate make and revoke any party's; a party's
user makes and revokes its own (its portal), and sees no other party's (another's is
:class:`~pingtree.flows.errors.NotFound`); the other staff only read the list. A token
never makes keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pingtree.api.auth import KeyChecker
from pingtree.api.scoping import scope_for
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store.secrets import ApiKeyRepository
from pingtree.store.tables import ApiKey

__all__ = [
    "MAX_OVERLAP_HOURS",
    "PARTY_KEY_ROLES",
    "campaign_names",
    "create_key",
    "create_party_key",
    "key_list",
    "may_manage_keys",
    "may_manage_party_keys",
    "may_see_keys",
    "parties",
    "party_key_list",
    "revoke_key",
    "revoke_party_key",
    "rotate_key",
]

#: the longest a rotated key may keep working next to its successor
MAX_OVERLAP_HOURS = 24 * 30

_CAMPAIGN = "campaign"
#: the roles of a party's own keys: a buyer's (``/api/v1/buyer``), a supplier's
PARTY_KEY_ROLES = ("buyer", "supplier")


def _own_supplier(principal: Principal) -> bool:
    return principal.role == "supplier" and bool(principal.supplier_id)


def may_manage_keys(principal: Principal) -> bool:
    """Whether ``principal`` may create, rotate and revoke campaign keys (a supplier's user:
    its own campaigns' only)."""
    return principal.may_operate or _own_supplier(principal)


def may_see_keys(principal: Principal) -> bool:
    """Whether ``principal`` may see the campaign keys' list (never a secret)."""
    return principal.is_staff or _own_supplier(principal)


def campaign_names(ports: Ports, principal: Principal) -> dict[str, str]:
    """Campaign id → name of the configuration in force that ``principal`` may see (the keys
    page's choices)."""
    campaigns = ports.snapshots.current().config.campaigns
    scope = scope_for(ports, principal)
    return {cid: campaigns[cid].name for cid in sorted(campaigns) if scope.has_campaign(cid)}


async def key_list(
    ports: Ports, principal: Principal, *, campaign_id: str | None = None
) -> list[dict[str, Any]]:
    """Campaign keys ``principal`` may see, revoked and expired ones too, oldest first; never
    a secret."""
    _see(principal)
    if campaign_id is not None:
        _campaign(ports, principal, campaign_id)
    scope = scope_for(ports, principal)
    now = ports.clock.now()
    async with ports.sessions() as session:
        rows = await ApiKeyRepository(session).list(campaign_id)
    return [
        _key(row, now)
        for row in rows
        if row.role == _CAMPAIGN
        and row.campaign_id is not None
        and scope.has_campaign(row.campaign_id)
    ]


async def create_key(
    ports: Ports, principal: Principal, keys: KeyChecker, campaign_id: str, name: str
) -> dict[str, Any]:
    """A new key for the campaign, named ``name``; ``api_key`` is its token, shown this once."""
    _manage(ports, principal, campaign_id)
    now = ports.clock.now()
    async with ports.sessions.begin() as session:
        row, token = await ApiKeyRepository(session).issue(
            _CAMPAIGN, campaign_id, name, keys.server_key, now
        )
        shown = _key(row, now)
    return {**shown, "api_key": token}


async def rotate_key(
    ports: Ports,
    principal: Principal,
    keys: KeyChecker,
    campaign_id: str,
    key_id: str,
    overlap_hours: int,
) -> dict[str, Any]:
    """A successor of key ``key_id`` (same campaign and name; ``api_key`` its token, shown
    this once) and the old key's end: ``now + overlap_hours``. A revoked or expired key has
    no successor (:class:`NotFound`)."""
    _manage(ports, principal, campaign_id)
    now = ports.clock.now()
    async with ports.sessions.begin() as session:
        repository = ApiKeyRepository(session)
        await _key_of(repository, campaign_id, key_id)
        rotated = await repository.rotate(
            key_id, keys.server_key, now, dt.timedelta(hours=overlap_hours)
        )
        if rotated is None:
            raise NotFound("that key no longer works: create a new one")
        new, token = rotated
        old = await _key_of(repository, campaign_id, key_id)
        answer = {**_key(new, now), "api_key": token, "replaces": _key(old, now)}
    keys.forget(key_id)
    return answer


async def revoke_key(
    ports: Ports, principal: Principal, keys: KeyChecker, campaign_id: str, key_id: str
) -> None:
    """Stop key ``key_id`` now. Revoking a revoked key changes nothing."""
    _manage(ports, principal, campaign_id)
    async with ports.sessions.begin() as session:
        repository = ApiKeyRepository(session)
        await _key_of(repository, campaign_id, key_id)
        await repository.revoke(key_id, ports.clock.now())
    keys.forget(key_id)


def _see(principal: Principal) -> None:
    if not may_see_keys(principal):
        raise Forbidden(f"The {principal.role} role may not see API keys.")


def _manage(ports: Ports, principal: Principal, campaign_id: str) -> None:
    _see(principal)
    if not may_manage_keys(principal):
        raise Forbidden(f"The {principal.role} role may see keys but not change them.")
    _campaign(ports, principal, campaign_id)


def _campaign(ports: Ports, principal: Principal, campaign_id: str) -> None:
    """:class:`NotFound` unless the campaign is configured and in ``principal``'s scope (a
    supplier's user is told the same of another supplier's campaign as of none)."""
    configured = campaign_id in ports.snapshots.current().config.campaigns
    if not configured or not scope_for(ports, principal).has_campaign(campaign_id):
        raise NotFound("no such campaign")


async def _key_of(repository: ApiKeyRepository, campaign_id: str, key_id: str) -> ApiKey:
    row = await repository.get(key_id)
    if row is None or row.role != _CAMPAIGN or row.campaign_id != campaign_id:
        raise NotFound("no such key for this campaign")
    return row


def _key(row: ApiKey, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "campaign_id": row.campaign_id,
        "name": row.label,
        "state": _state(row, now),
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
    }


def _state(row: ApiKey, now: dt.datetime) -> str:
    """``active``, ``expiring`` (rotated, still working), ``expired`` or ``revoked``."""
    if row.revoked_at is not None and row.revoked_at <= now:
        return "revoked"
    if row.expires_at is not None:
        return "expiring" if row.expires_at > now else "expired"
    return "active"


# --- a party's own keys ----------------------------------------------------------------------


def _own_party(principal: Principal, role: str, party_id: str) -> bool:
    """Whether ``principal`` is a user of the party ``role``/``party_id`` itself."""
    bound = principal.buyer_id if role == "buyer" else principal.supplier_id
    return principal.kind == "user" and principal.role == role and bound == party_id


def may_manage_party_keys(principal: Principal) -> bool:
    """Whether ``principal`` may make and revoke party keys (a party's user: its own)."""
    return principal.may_operate or (
        principal.kind == "user"
        and principal.role in PARTY_KEY_ROLES
        and bool(principal.buyer_id or principal.supplier_id)
    )


def parties(ports: Ports, principal: Principal) -> list[dict[str, str]]:
    """The parties whose keys ``principal`` may see: each ``role``, ``id`` and ``name``
    (every buyer and supplier for staff, its own party for a party's user)."""
    config = ports.snapshots.current().config
    found = [{"role": "buyer", "id": b.id, "name": b.name} for b in config.buyers.values()]
    found += [{"role": "supplier", "id": s.id, "name": s.name} for s in config.suppliers.values()]
    if not principal.is_staff:
        found = [p for p in found if _own_party(principal, p["role"], p["id"])]
    return sorted(found, key=lambda p: (p["role"], p["name"], p["id"]))


async def party_key_list(
    ports: Ports, principal: Principal, *, role: str | None = None, party_id: str | None = None
) -> list[dict[str, Any]]:
    """The party keys ``principal`` may see (``role``'s, ``party_id``'s when given), revoked
    and expired ones too, oldest first; never a secret."""
    visible = {(p["role"], p["id"]) for p in parties(ports, principal)}
    if not visible and not principal.is_staff:
        raise Forbidden(f"The {principal.role} role may not see party keys.")
    if role is not None and party_id is not None:
        _party(ports, principal, role, party_id)
    now = ports.clock.now()
    async with ports.sessions() as session:
        repository = ApiKeyRepository(session)
        rows = [
            row
            for kind in PARTY_KEY_ROLES
            if role in (None, kind)
            for row in await repository.party_keys(kind, party_id)
        ]
    shown = [
        _party_key(row, now)
        for row in rows
        if principal.is_staff or (row.role, _party_of(row)) in visible
    ]
    return sorted(shown, key=lambda k: (k["created_at"], k["id"]))


async def create_party_key(
    ports: Ports, principal: Principal, keys: KeyChecker, role: str, party_id: str, name: str
) -> dict[str, Any]:
    """A new key acting as the party (a ``buyer`` or a ``supplier``), named ``name``;
    ``api_key`` is its token, shown this once."""
    _manage_party(ports, principal, role, party_id)
    now = ports.clock.now()
    bound = {"buyer_id": party_id} if role == "buyer" else {"supplier_id": party_id}
    async with ports.sessions.begin() as session:
        row, token = await ApiKeyRepository(session).issue(
            role, None, name, keys.server_key, now, **bound
        )
        shown = _party_key(row, now)
    return {**shown, "api_key": token}


async def revoke_party_key(
    ports: Ports, principal: Principal, keys: KeyChecker, role: str, party_id: str, key_id: str
) -> None:
    """Stop the party's key ``key_id`` now. Revoking a revoked key changes nothing."""
    _manage_party(ports, principal, role, party_id)
    async with ports.sessions.begin() as session:
        repository = ApiKeyRepository(session)
        row = await repository.get(key_id)
        if row is None or row.role != role or _party_of(row) != party_id:
            raise NotFound("no such key for this party")
        await repository.revoke(key_id, ports.clock.now())
    keys.forget(key_id)


def _manage_party(ports: Ports, principal: Principal, role: str, party_id: str) -> None:
    if not may_manage_party_keys(principal):
        raise Forbidden(f"The {principal.role} role may not change party keys.")
    _party(ports, principal, role, party_id)


def _party(ports: Ports, principal: Principal, role: str, party_id: str) -> None:
    """:class:`NotFound` unless the party is configured and ``principal`` may see it (a
    party's user is told the same of another party as of none)."""
    config = ports.snapshots.current().config
    configured = party_id in (config.buyers if role == "buyer" else config.suppliers)
    if role not in PARTY_KEY_ROLES or not configured:
        raise NotFound(f"no such {role}")
    if not (principal.is_staff or _own_party(principal, role, party_id)):
        raise NotFound(f"no such {role}")


def _party_of(row: ApiKey) -> str | None:
    return row.buyer_id if row.role == "buyer" else row.supplier_id


def _party_key(row: ApiKey, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "role": row.role,
        "party_id": _party_of(row),
        "name": row.label,
        "state": _state(row, now),
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }
