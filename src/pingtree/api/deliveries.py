"""The outbox in the admin API: a lead's deliveries, and an operator's verdict on a post
whose outcome is unknown (DESIGN §8.6: "hold for an operator")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from pingtree.api import delivery_views as views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.problems import Problem
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports

__all__ = ["deliveries_router"]


class Verdict(BaseModel):
    delivered: bool = Field(
        description="true: the buyer has the lead (the sale stands); false: it has not "
        "(the sale is reversed and its caps refunded)"
    )


def deliveries_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ADMIN_RESPONSES)
    admin = Depends(admin_only(keys))

    @router.get("/leads/{lead_id}/deliveries")
    async def lead_deliveries(lead_id: str, caller: Caller = admin) -> list[dict[str, Any]]:
        """The lead's outbox rows: one per sale posted to a buyer, with its status
        (``queued sending delivered rejected failed unknown``), tries and reason."""
        return await views.lead_deliveries(ports, token_principal(caller), lead_id)

    @router.post(
        "/sales/{sale_id}/resolve",
        responses={409: {"description": "the sale has no post of unknown outcome"}},
    )
    async def resolve_sale(
        sale_id: str, verdict: Verdict, caller: Caller = admin
    ) -> dict[str, Any]:
        """Settle a sale whose post outcome is unknown (a timeout after sending, a 5xx):
        the operator asked the buyer. The lead's answer follows."""
        principal = token_principal(caller)
        if not await views.resolve_sale(ports, principal, sale_id, verdict.delivered):
            raise Problem(409, "the sale has no post of unknown outcome", "not_unknown")
        return {"sale_id": sale_id, "status": "sold" if verdict.delivered else "rejected"}

    return router
