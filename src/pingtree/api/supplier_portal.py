"""The supplier portal's front page: the signed-in supplier user's own campaigns, each with
its posting instructions and its keys, and what test mode does (DESIGN §8.5, §9).

Only the supplier's own campaigns are listed (the principal's scope); nothing of a buyer is
(no buyer name, price or margin: DESIGN §8.5), and of the supplier's own terms only what it
sends and how (modes, vertical, state), not the payout rule (with a lead's payout it would
tell the buyer's price). Staff who open the page see every campaign, as a supplier would its
own. A buyer's user is refused (:class:`~pingtree.principals.Forbidden`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pingtree.api import key_views
from pingtree.api.report_views import rate, report_zone
from pingtree.api.scoping import open_section, scope_for
from pingtree.domain.money import format_money
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.store.supplier_figures import supplier_figures

__all__ = ["MAX_DAYS", "supplier_figures_of", "supplier_portal"]

#: the most days the portal's figures cover
MAX_DAYS = 92


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


async def supplier_figures_of(
    ports: Ports, principal: Principal, days: int, *, test: bool = False
) -> dict[str, Any]:
    """The principal's figures of its last ``days`` local days (today included; its own
    time zone): ``rows`` by day, campaign and ``sub_id`` with ``pings``, ``accepted_pings``,
    ``acceptance_rate``, ``leads``, ``posts``, ``sold``, ``returned``, ``payout`` (what it
    earned, never revenue or margin), ``chargebacks`` and ``net_payout`` (the ledger's),
    and ``reasons``: ``(reason, count)`` of its rejected pings and leads. ``days`` is 1 to
    :data:`MAX_DAYS` (``ValueError`` else)."""
    open_section(principal, "my-campaigns")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1 to {MAX_DAYS}")
    try:
        zone = report_zone(None, principal.time_zone or "UTC")
    except ValueError:  # a zone no longer known to this machine's tz database
        zone = report_zone("UTC")
    today = ports.clock.now().astimezone(zone).date()
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
    scope = scope_for(ports, principal)
    await ports.pings.drained()  # every ping answered so far counts
    async with ports.sessions() as session:
        found = await supplier_figures(
            session, scope.campaign_ids, start, end, test=test, zone=zone
        )
    rows = [
        {
            "day": row.day.isoformat(),
            "campaign_id": row.campaign_id,
            "sub_id": row.sub_id,
            "pings": row.pings,
            "accepted_pings": row.accepted_pings,
            "acceptance_rate": rate(row.acceptance_rate),
            "leads": row.leads,
            "posts": row.posts,
            "sold": row.sold,
            "returned": row.returned,
            "payout": format_money(row.payout),
            "chargebacks": format_money(row.chargebacks),
            "net_payout": format_money(row.net_payout),
        }
        for row in found.rows
    ]
    return {"days": days, "time_zone": zone.key, "rows": rows, "reasons": found.reasons}
