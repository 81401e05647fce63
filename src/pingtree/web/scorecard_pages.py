"""The scorecards' pages (``api.scorecard_views``): a buyer's at ``/ui/buyers/{id}/scorecard``
and a supplier's at ``/ui/suppliers/{id}/scorecard`` for the staff, linked from their admin
pages; a party's own at ``/ui/my-scorecard`` for a buyer's or a supplier's user, linked from
its portal. Whole days of a time zone, picked like the reports': a ``period`` preset, or
``from`` and ``to`` (both included; a blank end is the last 7 days), ``tz`` (blank: the
user's own time zone).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingtree.api import scorecard_views
from pingtree.principals import Principal, require_staff
from pingtree.web.period_form import PERIOD_NAMES, PeriodQuery, Span, span_of
from pingtree.web.site import Site

__all__ = ["scorecard_pages"]


def scorecard_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/buyers/{buyer_id}/scorecard")
    async def buyer_scorecard(
        request: Request,
        buyer_id: str,
        query: Annotated[PeriodQuery, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        require_staff(viewer, "a buyer's scorecard here (its own is at /ui/my-scorecard)")
        span = span_of(ports, query, viewer)
        card = await scorecard_views.buyer_scorecard(ports, viewer, buyer_id, span.start, span.end)
        return _page(site, request, viewer, "buyer", card, span, query)

    @router.get("/ui/suppliers/{supplier_id}/scorecard")
    async def supplier_scorecard(
        request: Request,
        supplier_id: str,
        query: Annotated[PeriodQuery, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        require_staff(viewer, "a supplier's scorecard here (its own is at /ui/my-scorecard)")
        span = span_of(ports, query, viewer)
        card = await scorecard_views.supplier_scorecard(
            ports, viewer, supplier_id, span.start, span.end
        )
        return _page(site, request, viewer, "supplier", card, span, query)

    @router.get("/ui/my-scorecard")
    async def own_scorecard(
        request: Request,
        query: Annotated[PeriodQuery, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        kind, party_id = scorecard_views.own_party(viewer)
        span = span_of(ports, query, viewer)
        if kind == "buyer":
            card = await scorecard_views.buyer_scorecard(
                ports, viewer, party_id, span.start, span.end
            )
        else:
            card = await scorecard_views.supplier_scorecard(
                ports, viewer, party_id, span.start, span.end
            )
        return _page(site, request, viewer, kind, card, span, query)

    return router


def _page(
    site: Site,
    request: Request,
    viewer: Principal,
    kind: str,
    card: dict[str, Any],
    span: Span,
    query: PeriodQuery,
) -> HTMLResponse:
    return site.render(
        request,
        "scorecard.html",
        viewer=viewer,
        kind=kind,
        card=card,
        span=span,
        period=query.period,
        periods=PERIOD_NAMES,
        own=not viewer.is_staff,
    )
