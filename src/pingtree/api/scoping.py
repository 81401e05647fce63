"""A principal's scope over the live configuration, and the sections it may open: what the
view functions ask before they query (DESIGN §9, "scope is data").

Staff see every section but the admin-only ones to admins; a ``supplier`` user its own
campaigns' pings and leads; a ``buyer`` user the leads it bought and its own posts' delivery
log. The portals (next round) add their own sections here; anything not listed is 403.
"""

from __future__ import annotations

from pingtree.api.auth import Caller
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal, Scope, scope_of

__all__ = [
    "ADMIN_ONLY",
    "PARTY_SECTIONS",
    "may_open",
    "open_section",
    "scope_for",
    "token_principal",
]

#: the sections only admins open
ADMIN_ONLY = frozenset({"sign-ins", "erasures", "set-aside", "users", "reveals", "secrets"})
#: the sections a party's user opens; its views scope what they show
PARTY_SECTIONS: dict[str, frozenset[str]] = {
    "supplier": frozenset(
        {
            "my-campaigns",
            "keys",
            "leads",
            "pings",
            "party-keys",
            "returns",
            "account",
            "dispositions",
        }
    ),
    "buyer": frozenset(
        {"leads", "attempts", "my-orders", "bought-leads", "party-keys", "returns", "account"}
    ),
}

_NAMES = {
    "sign-ins": "the sign-ins",
    "erasures": "erasures",
    "set-aside": "the rows set aside",
    "users": "the users",
    "reveals": "the PII reveal audit",
    "secrets": "buyer secrets",
}


def may_open(principal: Principal, section: str) -> bool:
    """Whether ``principal`` may open ``section`` (``leads``, ``reports``, ``users``…)."""
    if section in ADMIN_ONLY:
        return principal.is_admin
    if principal.is_staff:
        return True
    return section in PARTY_SECTIONS.get(principal.role, frozenset())


def open_section(principal: Principal, section: str) -> None:
    """403 (:class:`Forbidden`) unless ``principal`` may open ``section``."""
    if not may_open(principal, section):
        what = _NAMES.get(section, section.replace("-", " "))
        raise Forbidden(f"The {principal.role} role may not see {what}.")


def scope_for(ports: Ports, principal: Principal) -> Scope:
    """``principal``'s scope over the configuration live now."""
    campaigns = ports.snapshots.current().config.campaigns.values()
    return scope_of(principal, ((c.id, c.supplier_id) for c in campaigns))


def token_principal(caller: Caller) -> Principal:
    """The principal an API token stands for: an admin token, a campaign key, or a buyer's
    or a supplier's own key (bound to its party)."""
    return Principal(
        kind="token",
        id=caller.key_id,
        name=caller.key_id,
        role=caller.role,
        campaign_id=caller.campaign_id,
        buyer_id=caller.buyer_id,
        supplier_id=caller.supplier_id,
    )
