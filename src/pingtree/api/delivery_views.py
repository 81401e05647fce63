"""The outbox as the admin API shows it, through the principal: a lead's deliveries (the
staff's), and the verdict on a post whose outcome is unknown (an admin's or an
operator's: DESIGN §8.6 "hold for an operator")."""

from __future__ import annotations

from typing import Any

from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal, require_staff
from pingtree.store.lead_fields import shown_redirect
from pingtree.store.outbox import OutboxRepository

__all__ = ["lead_deliveries", "resolve_sale"]


async def lead_deliveries(ports: Ports, principal: Principal, lead_id: str) -> list[dict[str, Any]]:
    """The lead's outbox rows: one per sale posted to a buyer, with its status, tries and
    reason; the redirect URL sealed (it may carry the consumer's data: a reveal of the
    lead's trace opens it)."""
    require_staff(principal, "a lead's deliveries")
    async with ports.sessions() as session:
        rows = await OutboxRepository(session).for_lead(lead_id)
    return [
        {
            "sale_id": row.sale_id,
            "order_id": row.order_id,
            "buyer_id": row.buyer_id,
            "status": row.status,
            "tries": row.tries,
            "reason": row.reason,
            "redirect_url": shown_redirect(row.redirect_url, ports.vault, reveal=False),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
        for row in rows
    ]


async def resolve_sale(ports: Ports, principal: Principal, sale_id: str, delivered: bool) -> bool:
    """Settle a sale whose post outcome is unknown; ``False`` if it has none."""
    if not principal.may_operate:
        raise Forbidden(f"The {principal.role} role may not resolve a post.")
    return await ports.outbox.resolve(sale_id, delivered)
