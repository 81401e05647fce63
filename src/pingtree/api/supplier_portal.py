"""The supplier portal's front page: the signed-in supplier user's own campaigns, each with
its posting instructions and its keys, and what test mode does (DESIGN §8.5, §9).

Only the supplier's own campaigns are listed (the principal's scope); nothing of a buyer is
(no buyer name, price or margin: DESIGN §8.5), and of the supplier's own terms only what it
sends and how (modes, vertical, state), not the payout rule (with a lead's payout it would
tell the buyer's price). Staff who open the page see every campaign, as a supplier would its
own. A buyer's user is refused (:class:`~pingtree.principals.Forbidden`).
"""

from __future__ import annotations

from typing import Any

from pingtree.api import key_views
from pingtree.api.scoping import open_section, scope_for
from pingtree.flows.ports import Ports
from pingtree.principals import Principal

__all__ = ["supplier_portal"]


async def supplier_portal(ports: Ports, principal: Principal) -> dict[str, Any]:
    """``supplier`` (its own name, or ``None`` for staff) and ``campaigns``: each with
    ``id``, ``name``, ``vertical_id``, ``modes``, ``active``, ``test_mode`` and ``working_keys``
    (how many of its keys work now)."""
    open_section(principal, "my-campaigns")
    config = ports.snapshots.current().config
    scope = scope_for(ports, principal)
    working: dict[str, int] = {}
    for key in await key_views.key_list(ports, principal):
        if key["state"] in ("active", "expiring"):
            working[key["campaign_id"]] = working.get(key["campaign_id"], 0) + 1
    campaigns = [
        {
            "id": c.id,
            "name": c.name,
            "vertical_id": c.vertical_id,
            "modes": sorted(c.modes),
            "active": c.active,
            "test_mode": c.test_mode,
            "working_keys": working.get(c.id, 0),
        }
        for c in sorted(config.campaigns.values(), key=lambda c: c.name)
        if scope.has_campaign(c.id)
    ]
    supplier = None
    if principal.supplier_id and principal.supplier_id in config.suppliers:
        supplier = config.suppliers[principal.supplier_id].name
    return {"supplier": supplier, "campaigns": campaigns}
