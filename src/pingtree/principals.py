"""Who is asking, and what that lets it see: the one place scope is decided (DESIGN §9).

A :class:`Principal` is a person signed in to the UI or a token calling the API. The API
(token → principal) and the UI (session → principal) both make one; every view function
takes it and asks this module what it may see:

- ``admin``, ``operator``, ``analyst``: the operator's staff, the whole marketplace; an
  analyst never reveals PII; admin-only sections stay admin-only.
- ``supplier`` bound to one supplier id: its own campaigns' pings, leads and figures, never
  buyer names, prices or margins; it may reveal its own leads' PII (audited).
- ``buyer`` bound to one buyer id: its own orders, the leads it bought, its own posts'
  delivery log.
- ``campaign`` (a seller key): the seller API only.

:func:`scope_of` turns a principal and the live configuration into a :class:`Scope`, the
filter view functions hand to the store's queries. Refusals are :class:`Forbidden` (403).
This module imports nothing of pingtree's, so ``store/``, ``api/`` and ``web/`` all may.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PARTY_ROLES",
    "ROLES",
    "STAFF_ROLES",
    "Forbidden",
    "Principal",
    "Scope",
    "may_reveal_pii",
    "require_admin",
    "require_staff",
    "scope_of",
    "valid_time_zone",
]

#: the operator's staff: ``analyst`` sees figures but never PII
STAFF_ROLES = ("admin", "operator", "analyst")
#: people bound to one party of the marketplace
PARTY_ROLES = ("supplier", "buyer")
#: every role a user may have
ROLES = STAFF_ROLES + PARTY_ROLES
#: the roles that may reveal a lead's PII (DESIGN §8.5); a buyer's own bought leads are
#: shown to it by its portal's views, not by a reveal
_PII_ROLES = frozenset({"admin", "operator"})
#: the roles that run the marketplace (``Principal.may_operate``)
_OPERATING_ROLES = frozenset({"admin", "operator"})


class Forbidden(Exception):
    """The principal may not see or do this (403). The message names the role."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a UI user (``kind="user"``) or an API token (``kind="token"``).

    ``supplier_id`` is set for a ``supplier`` principal, ``buyer_id`` for a ``buyer``, and
    ``campaign_id`` for a campaign key; ``csrf_token`` is a UI session's only."""

    kind: Literal["user", "token"]
    id: str
    name: str
    role: str
    supplier_id: str | None = None
    buyer_id: str | None = None
    campaign_id: str | None = None
    time_zone: str = "UTC"
    csrf_token: str = ""

    @property
    def user_id(self) -> str:
        return self.id

    @property
    def username(self) -> str:
        return self.name

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def may_reveal_pii(self) -> bool:
        return may_reveal_pii(self.role)

    @property
    def may_operate(self) -> bool:
        """Whether it runs the marketplace: changes its configuration and keys, and tells
        the outbox what a buyer did with a post (an admin or an operator)."""
        return self.role in _OPERATING_ROLES

    @property
    def audit_name(self) -> str:
        """How the audit trails name it: ``user:<id>`` or ``key:<id>``."""
        return f"{'user' if self.kind == 'user' else 'key'}:{self.id}"

    @property
    def party(self) -> str | None:
        """DESIGN's ``supplier:<id>`` / ``buyer:<id>``, or ``None`` for staff."""
        if self.role == "supplier":
            return f"supplier:{self.supplier_id}"
        if self.role == "buyer":
            return f"buyer:{self.buyer_id}"
        return None


def may_reveal_pii(role: str) -> bool:
    return role in _PII_ROLES


def require_staff(principal: Principal, what: str = "this page") -> None:
    """403 unless the principal is the operator's staff."""
    if not principal.is_staff:
        raise Forbidden(f"The {principal.role} role may not see {what}.")


def require_admin(principal: Principal, what: str = "this page") -> None:
    """403 unless the principal is an admin."""
    if not principal.is_admin:
        raise Forbidden(f"The {principal.role} role may not see {what}.")


@dataclass(frozen=True, slots=True)
class Scope:
    """What a principal's queries may return.

    ``campaign_ids`` ``None``: every campaign; else only these (a supplier's, maybe none).
    ``buyer_id`` set: only what touches that buyer (its sales, its attempts). ``money``:
    buyer names, prices, revenue and margins may be shown. ``pii``: PII may be revealed."""

    campaign_ids: frozenset[str] | None
    buyer_id: str | None
    money: bool
    pii: bool

    @property
    def everything(self) -> bool:
        return self.campaign_ids is None and self.buyer_id is None

    def has_campaign(self, campaign_id: str | None) -> bool:
        return self.campaign_ids is None or campaign_id in self.campaign_ids


def scope_of(principal: Principal, campaign_suppliers: Iterable[tuple[str, str]]) -> Scope:
    """The scope of ``principal`` given the live configuration's ``(campaign id, supplier
    id)`` pairs. A campaign key or another role sees nothing."""
    pii = principal.may_reveal_pii
    if principal.is_staff:
        return Scope(campaign_ids=None, buyer_id=None, money=True, pii=pii)
    if principal.role == "supplier" and principal.supplier_id:
        own = frozenset(c for c, s in campaign_suppliers if s == principal.supplier_id)
        # its own consumers' PII, masked unless revealed (each reveal audited, as staff's)
        return Scope(campaign_ids=own, buyer_id=None, money=False, pii=True)
    if principal.role == "buyer" and principal.buyer_id:
        return Scope(campaign_ids=None, buyer_id=principal.buyer_id, money=True, pii=False)
    return Scope(campaign_ids=frozenset(), buyer_id=None, money=False, pii=False)


def valid_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (``UTC``, ``Europe/Paris``)."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
