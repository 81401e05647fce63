"""Campaign API keys, as plain dicts: the admin API's routes and the UI's keys page both call
these (DESIGN §8.5: keys are secrets).

A key's token is returned once, by :func:`create_key` and :func:`rotate_key`; afterwards only
its id, name and dates are shown. Admins and operators manage keys (:func:`may_manage_keys`),
analysts only read the list, and no one else sees it (:func:`may_see_keys`: a supplier's or
buyer's user has no business with other parties' keys); the caller checks it, as for a PII
reveal.

Rotating a key makes a new one and lets the old one work for the overlap the operator picks
(``overlap_hours``, 0 to :data:`MAX_OVERLAP_HOURS`), then it stops. Revoking stops a key at
once. Both take effect at once in this process (``KeyChecker.forget``), within the checker's
few seconds of memory in the others. An unknown campaign or key raises
:class:`~pingtree.flows.errors.NotFound`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pingtree.api.auth import KeyChecker
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.store.secrets import ApiKeyRepository
from pingtree.store.tables import ApiKey

__all__ = [
    "MAX_OVERLAP_HOURS",
    "campaign_names",
    "create_key",
    "key_list",
    "may_manage_keys",
    "may_see_keys",
    "revoke_key",
    "rotate_key",
]

#: the longest a rotated key may keep working next to its successor
MAX_OVERLAP_HOURS = 24 * 30

_MANAGERS = frozenset({"admin", "operator"})
_READERS = _MANAGERS | {"analyst"}
_CAMPAIGN = "campaign"


def may_manage_keys(role: str) -> bool:
    """Whether ``role`` may create, rotate and revoke campaign keys."""
    return role in _MANAGERS


def may_see_keys(role: str) -> bool:
    """Whether ``role`` may see the campaign keys' list (never a secret)."""
    return role in _READERS


def campaign_names(ports: Ports) -> dict[str, str]:
    """Campaign id → name, of the configuration in force (for the keys page's choices)."""
    campaigns = ports.snapshots.current().config.campaigns
    return {cid: campaigns[cid].name for cid in sorted(campaigns)}


async def key_list(ports: Ports, *, campaign_id: str | None = None) -> list[dict[str, Any]]:
    """Campaign keys, revoked and expired ones too, oldest first; never a secret."""
    if campaign_id is not None:
        _campaign(ports, campaign_id)
    now = ports.clock.now()
    async with ports.sessions() as session:
        rows = await ApiKeyRepository(session).list(campaign_id)
    return [_key(row, now) for row in rows if row.role == _CAMPAIGN]


async def create_key(ports: Ports, keys: KeyChecker, campaign_id: str, name: str) -> dict[str, Any]:
    """A new key for the campaign, named ``name``; ``api_key`` is its token, shown this once."""
    _campaign(ports, campaign_id)
    now = ports.clock.now()
    async with ports.sessions.begin() as session:
        row, token = await ApiKeyRepository(session).issue(
            _CAMPAIGN, campaign_id, name, keys.server_key, now
        )
        shown = _key(row, now)
    return {**shown, "api_key": token}


async def rotate_key(
    ports: Ports, keys: KeyChecker, campaign_id: str, key_id: str, overlap_hours: int
) -> dict[str, Any]:
    """A successor of key ``key_id`` (same campaign and name; ``api_key`` its token, shown
    this once) and the old key's end: ``now + overlap_hours``. A revoked or expired key has
    no successor (:class:`NotFound`)."""
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


async def revoke_key(ports: Ports, keys: KeyChecker, campaign_id: str, key_id: str) -> None:
    """Stop key ``key_id`` now. Revoking a revoked key changes nothing."""
    async with ports.sessions.begin() as session:
        repository = ApiKeyRepository(session)
        await _key_of(repository, campaign_id, key_id)
        await repository.revoke(key_id, ports.clock.now())
    keys.forget(key_id)


def _campaign(ports: Ports, campaign_id: str) -> None:
    if campaign_id not in ports.snapshots.current().config.campaigns:
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
