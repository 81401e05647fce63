"""The replay's admin API route (``api.replay_views``): ``POST /api/v1/admin/replay``
with a draft configuration as YAML, answering what the draft would have done to the
period's live pings. Nothing is written and no buyer is contacted."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from pingtree.api import replay_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.body import read_bounded
from pingtree.api.problems import Problem
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports

__all__ = ["replay_router"]

#: a draft is at most this long, like an applied configuration
_MAX_DRAFT_BYTES = 4 * 1024 * 1024
#: the draft: a configuration document (YAML, or JSON, which YAML reads), as ``apply`` takes
_DRAFT_BODY = {
    "requestBody": {
        "required": True,
        "description": "the draft configuration, merged onto the live one as apply would",
        "content": {
            "application/yaml": {"schema": {"type": "string", "minLength": 1}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def replay_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ADMIN_RESPONSES)

    @router.post("/replay", openapi_extra=_DRAFT_BODY)
    async def replay(
        request: Request,
        since: Annotated[str, Query(max_length=8, description="7d, 24h or 90m back")] = "7d",
        campaign: Annotated[str | None, Query(max_length=64)] = None,
        ping_id: Annotated[str | None, Query(max_length=64)] = None,
        caller: Caller = admin,
    ) -> dict[str, Any]:
        """Replay the period's live pings on a draft (YAML body) with the bids buyers
        gave: per campaign, buyer and order the leads won and lost, revenue, payout and
        profit before and after, and the pings that change hands with why; ``ping_id``
        adds that ping's traces before and after."""
        raw = await read_bounded(request, _MAX_DRAFT_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(400, "the draft is not valid UTF-8") from None
        return await replay_views.replay_report(
            ports,
            token_principal(caller),
            text,
            since,
            campaign_id=campaign,
            ping_id=ping_id,
        )

    return router
