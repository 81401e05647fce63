"""The parties' own APIs: ``/api/v1/buyer/...`` for a buyer's key, ``/api/v1/supplier/...``
for a supplier's (``api.party_auth``). The same view functions as the portals' pages, scoped
by the key's principal: a buyer reads its own orders and the leads it bought (with their
personal data, each read audited as in the portal) and reports their dispositions; a
supplier reads its own campaigns, figures, its leads' disposition codes and the
dispositions report of its campaigns. An admin token is let in and the views decide (the
buyer's views are a buyer's only: 403)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from pingtree.api import buyer_views, disposition_views, supplier_portal
from pingtree.api.auth import KeyChecker
from pingtree.api.disposition_routes import (
    DispositionAsked,
    DispositionsReportOut,
    dispositions_report,
)
from pingtree.api.party_auth import PARTY_RESPONSES, party_principal
from pingtree.domain.money import format_money
from pingtree.flows.ports import Ports
from pingtree.principals import Principal

__all__ = ["party_api_router"]

_LEAD_ID = r"^[A-Za-z0-9-]{1,64}$"


def party_api_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    router.include_router(_buyer_routes(ports, keys))
    router.include_router(_supplier_routes(ports, keys))
    return router


def _buyer_routes(ports: Ports, keys: KeyChecker) -> APIRouter:
    buyer = Depends(party_principal(keys, "buyer"))
    router = APIRouter(prefix="/api/v1/buyer", tags=["buyer"], responses=PARTY_RESPONSES)

    @router.get("/orders")
    async def orders(principal: Principal = buyer) -> list[dict[str, Any]]:
        """The buyer's orders: status, price, schedule in words, each cap's use now."""
        return [_order(view) for view in await buyer_views.order_views(ports, principal)]

    @router.get("/leads")
    async def leads(
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        before: Annotated[str | None, Query(pattern=_LEAD_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=buyer_views.PAGE)] = 50,
        principal: Principal = buyer,
    ) -> list[dict[str, Any]]:
        """The leads the buyer bought and still owns, newest first, without personal data:
        id, date, vertical and its own sales. ``since``/``until``: the lead's creation time
        (UTC unless given), ``until`` excluded; ``before``: the last id of a page."""
        return await buyer_views.bought_leads(
            ports, principal, since=since, until=until, before=before, limit=limit
        )

    @router.get("/leads/{lead_id}")
    async def lead(
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)], principal: Principal = buyer
    ) -> dict[str, Any]:
        """One lead the buyer bought, with its personal data (the read is recorded); 404 for
        any lead it does not own."""
        return dataclasses.asdict(await buyer_views.bought_lead(ports, principal, lead_id))

    @router.post("/leads/{lead_id}/dispositions", status_code=201)
    async def report_disposition(
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)],
        body: DispositionAsked,
        principal: Principal = buyer,
    ) -> dict[str, Any]:
        """Report what became of a lead the buyer bought: a ``code`` of the lead's vertical
        (422 naming the allowed ones otherwise), an optional ``value`` (money, e.g. the
        policy's premium) and a ``note``. Several over time; the latest is the current one.
        404 for a lead it does not own."""
        return await disposition_views.report_disposition(
            ports, principal, lead_id, code=body.code, value=body.value, note=body.note
        )

    @router.get("/leads/{lead_id}/dispositions")
    async def dispositions(
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)], principal: Principal = buyer
    ) -> list[dict[str, Any]]:
        """The buyer's dispositions of a lead it bought, newest first (the first is the
        current one). 404 for a lead it does not own."""
        return await disposition_views.lead_dispositions(ports, principal, lead_id)

    return router


def _supplier_routes(ports: Ports, keys: KeyChecker) -> APIRouter:
    supplier = Depends(party_principal(keys, "supplier"))
    router = APIRouter(prefix="/api/v1/supplier", tags=["supplier"], responses=PARTY_RESPONSES)

    @router.get("/campaigns")
    async def campaigns(principal: Principal = supplier) -> dict[str, Any]:
        """The supplier's own campaigns: modes, vertical, state, how many keys work."""
        return await supplier_portal.supplier_portal(ports, principal)

    @router.get("/figures")
    async def figures(
        days: Annotated[int, Query(ge=1, le=supplier_portal.MAX_DAYS)] = 7,
        test: bool = False,
        principal: Principal = supplier,
    ) -> dict[str, Any]:
        """Its figures by UTC day, campaign and ``sub_id``: pings, acceptance, leads, posts,
        sold and the payout it earned (never a buyer's price)."""
        return await supplier_portal.supplier_figures_of(ports, principal, days, test=test)

    @router.get("/leads/{lead_id}/dispositions")
    async def dispositions(
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)], principal: Principal = supplier
    ) -> list[dict[str, Any]]:
        """What buyers reported of one of its leads: the codes and when, newest first;
        never the buyer, a value or a note."""
        return await disposition_views.lead_dispositions(ports, principal, lead_id)

    @router.get("/reports/dispositions")
    async def report(
        since: dt.date | None = None,
        until: dt.date | None = None,
        by: Annotated[list[str] | None, Query()] = None,
        test: bool = False,
        principal: Principal = supplier,
    ) -> DispositionsReportOut:
        """Its campaigns' sold leads by ``by`` (``supplier``, ``campaign``, ``sub_id``,
        ``vertical``; default campaign and ``sub_id``) over the UTC days ``since`` to
        ``until`` (default the last 30): leads with a disposition, contact and conversion
        rates, downstream value per sold lead."""
        return await dispositions_report(
            ports, principal, since, until, by or ["campaign", "sub_id"], test
        )

    return router


def _order(view: buyer_views.OrderView) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "vertical_id": view.vertical_id,
        "status": view.status,
        "price": view.price,
        "schedule": view.schedule,
        "caps": [
            {
                "scope": use.scope,
                "kind": str(use.cap.kind),
                "window": str(use.cap.window),
                "limit": _amount(use.limit),
                "used": _amount(use.used),
                "held": _amount(use.held),
                "resets_at": use.resets_at,
            }
            for use in view.caps
        ],
    }


def _amount(value: int | Decimal) -> int | str:
    """A count as a number, money as its text."""
    return format_money(value) if isinstance(value, Decimal) else value
