"""The outbox in the admin API: a lead's deliveries, and an operator's verdict on a post
whose outcome is unknown (DESIGN §8.6: "hold for an operator")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from pingtree.api.auth import ADMIN_RESPONSES, KeyChecker, admin_only
from pingtree.api.problems import Problem
from pingtree.flows.ports import Ports
from pingtree.store.lead_fields import shown_redirect
from pingtree.store.outbox import OutboxRepository

__all__ = ["deliveries_router"]


class Verdict(BaseModel):
    delivered: bool = Field(
        description="true: the buyer has the lead (the sale stands); false: it has not "
        "(the sale is reversed and its caps refunded)"
    )


def deliveries_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1/admin",
        tags=["admin"],
        dependencies=[Depends(admin_only(keys))],
        responses=ADMIN_RESPONSES,
    )

    @router.get("/leads/{lead_id}/deliveries")
    async def lead_deliveries(lead_id: str) -> list[dict[str, Any]]:
        """The lead's outbox rows: one per sale posted to a buyer, with its status
        (``queued sending delivered rejected failed unknown``), tries and reason."""
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
                # sealed: it may carry the consumer's data (the lead's trace reveals it)
                "redirect_url": shown_redirect(row.redirect_url, ports.vault, reveal=False),
                "created_at": row.created_at,
                "updated_at": row.updated_at,
            }
            for row in rows
        ]

    @router.post(
        "/sales/{sale_id}/resolve",
        responses={409: {"description": "the sale has no post of unknown outcome"}},
    )
    async def resolve_sale(sale_id: str, verdict: Verdict) -> dict[str, Any]:
        """Settle a sale whose post outcome is unknown (a timeout after sending, a 5xx):
        the operator asked the buyer. The lead's answer follows."""
        if not await ports.outbox.resolve(sale_id, verdict.delivered):
            raise Problem(409, "the sale has no post of unknown outcome", "not_unknown")
        return {"sale_id": sale_id, "status": "sold" if verdict.delivered else "rejected"}

    return router
