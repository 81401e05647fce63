"""The scorecards' API routes (``api.scorecard_views``): an admin token reads any buyer's
(``/api/v1/admin/buyers/{buyer_id}/scorecard``) and any supplier's
(``/api/v1/admin/suppliers/{supplier_id}/scorecard``); a buyer's key reads its own
(``/api/v1/buyer/scorecard``), a supplier's key its own (``/api/v1/supplier/scorecard``).

The range is the reports' (``api.reports``): a ``period`` of whole days of ``tz`` (default
``today``), or ``from`` and ``to``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from pingtree.api import scorecard_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.party_auth import PARTY_RESPONSES, party_principal
from pingtree.api.report_range import ReportRange, report_range
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.store.scorecards import POST_FAILURES

__all__ = ["BuyerScorecardOut", "SupplierScorecardOut", "scorecards_router"]

PartyId = Annotated[str, Path(min_length=1, max_length=64)]
Rate = Annotated[float | None, Field(description="a ratio in [0, 1]; null: nothing to divide by")]


class LatencyOut(BaseModel):
    """Nearest-rank percentiles of the pings sent, in ms; null when none was sent."""

    p50: int | None
    p90: int | None
    p99: int | None


class DispositionsOut(BaseModel):
    """What buyers reported of the sales made in the range (each sale's latest report)."""

    sold: int
    disposed: int
    contacted: int
    converted: int
    disposition_rate: Rate
    contact_rate: Rate = Field(description="contacted ÷ sales with a disposition")
    conversion_rate: Rate = Field(description="converted ÷ sales with a disposition")
    #: current code → how many sales have it
    codes: dict[str, int]


class BuyerDispositionsOut(DispositionsOut):
    value_per_sold: str | None = Field(description="the downstream value reported per sale")


class _ScorecardOut(BaseModel):
    name: str
    start: dt.datetime
    end: dt.datetime
    sold: int = Field(description="its sales made in the range that stand")
    returned: int = Field(description="approved returns of those sales")
    return_rate: Rate


class BuyerScorecardOut(_ScorecardOut):
    buyer_id: str
    pings: int = Field(description="pings sent to its endpoints (not those skipped)")
    latency_ms: LatencyOut
    ping_timeouts: int
    ping_errors: int
    bids: int
    bid_rate: Rate = Field(description="bids ÷ pings sent")
    wins: int = Field(description="bids whose lead was then sold to the order that bid")
    win_rate: Rate = Field(description="wins ÷ bids")
    posts: int = Field(description="leads posted to it, each once however many tries")
    posts_accepted: int
    accepted_rate: Rate = Field(description="posts accepted ÷ leads posted after winning")
    post_tries: int
    post_failures: dict[str, int] = Field(
        description=f"failed post tries by kind: {', '.join(POST_FAILURES)}"
    )
    dispositions: BuyerDispositionsOut


class SupplierScorecardOut(_ScorecardOut):
    supplier_id: str
    pings: int
    accepted_pings: int
    acceptance_rate: Rate = Field(description="accepted pings ÷ pings")
    leads: int
    posts: int = Field(description="leads posted after a ping")
    ping_to_post: Rate = Field(description="posts ÷ accepted pings")
    sold_leads: int
    sell_rate: Rate = Field(description="sold leads ÷ leads")
    dispositions: DispositionsOut


def scorecards_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    admin = Depends(admin_only(keys))
    buyer = Depends(party_principal(keys, "buyer"))
    supplier = Depends(party_principal(keys, "supplier"))

    in_range = Depends(report_range(ports))

    @router.get(
        "/api/v1/admin/buyers/{buyer_id}/scorecard",
        tags=["scorecards"],
        responses=ADMIN_RESPONSES,
    )
    async def admin_buyer_scorecard(
        buyer_id: PartyId, range_: ReportRange = in_range, caller: Caller = admin
    ) -> BuyerScorecardOut:
        """A buyer's scorecard: ping latency p50/p90/p99, timeouts, errors, bid and win
        rates, posts accepted after winning, post failures by kind, return rate and the
        dispositions it reported (contact and conversion rates)."""
        card = await scorecard_views.buyer_scorecard(
            ports, token_principal(caller), buyer_id, range_.start, range_.end
        )
        return BuyerScorecardOut(**card)

    @router.get(
        "/api/v1/admin/suppliers/{supplier_id}/scorecard",
        tags=["scorecards"],
        responses=ADMIN_RESPONSES,
    )
    async def admin_supplier_scorecard(
        supplier_id: PartyId, range_: ReportRange = in_range, caller: Caller = admin
    ) -> SupplierScorecardOut:
        """A supplier's scorecard: acceptance, ping-to-post and sell rates, return rate and
        its leads' dispositions (contact and conversion rates)."""
        card = await scorecard_views.supplier_scorecard(
            ports, token_principal(caller), supplier_id, range_.start, range_.end
        )
        return SupplierScorecardOut(**card)

    @router.get("/api/v1/buyer/scorecard", tags=["buyer"], responses=PARTY_RESPONSES)
    async def own_buyer_scorecard(
        range_: ReportRange = in_range, principal: Principal = buyer
    ) -> BuyerScorecardOut:
        """The calling buyer's own scorecard (as the admin API's)."""
        _, buyer_id = scorecard_views.own_party(principal)
        card = await scorecard_views.buyer_scorecard(
            ports, principal, buyer_id, range_.start, range_.end
        )
        return BuyerScorecardOut(**card)

    @router.get("/api/v1/supplier/scorecard", tags=["supplier"], responses=PARTY_RESPONSES)
    async def own_supplier_scorecard(
        range_: ReportRange = in_range, principal: Principal = supplier
    ) -> SupplierScorecardOut:
        """The calling supplier's own scorecard (as the admin API's; no money)."""
        _, supplier_id = scorecard_views.own_party(principal)
        card = await scorecard_views.supplier_scorecard(
            ports, principal, supplier_id, range_.start, range_.end
        )
        return SupplierScorecardOut(**card)

    return router
