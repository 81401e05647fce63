"""The traffic pages: leads, pings and the delivery log, each a searchable list and a page
with its trace. The data comes from ``api.admin_views``, as the admin API's does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from pingtree.api import admin_views as views
from pingtree.api.disposition_views import shown_dispositions
from pingtree.api.scoping import scope_for
from pingtree.principals import Principal
from pingtree.web.filters import AttemptSearch, LeadSearch, PingSearch
from pingtree.web.person_search import person_search
from pingtree.web.return_pages import lead_returns
from pingtree.web.site import Site

__all__ = ["PAGE_SIZE", "traffic_pages"]

PAGE_SIZE = 50


def traffic_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/leads")
    async def lead_list(
        request: Request,
        search: Annotated[LeadSearch, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> Response:
        if search.email or search.phone:
            # the person's HMAC index takes the typed value's place in the URL, so no link,
            # page or history entry past this one request holds the email or phone
            return person_search(site, request, search.email, search.phone)
        rows = await views.lead_list(ports, viewer, PAGE_SIZE + 1, **search.filters())
        return _list_page(site, request, viewer, "leads.html", rows, search)

    @router.get("/ui/leads/{lead_id}")
    async def lead_page(
        request: Request, lead_id: str, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        lead = await views.lead_trace(ports, viewer, lead_id)
        dispositions = await shown_dispositions(ports, viewer, lead_id)
        returns = await lead_returns(site, viewer, lead_id)
        return _lead_page(site, request, viewer, lead, dispositions, returns, revealed=False)

    @router.post("/ui/leads/{lead_id}/reveal")
    async def reveal_lead(
        request: Request, lead_id: str, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> HTMLResponse:
        lead = await views.lead_trace(ports, viewer, lead_id, reveal=True)
        dispositions = await shown_dispositions(ports, viewer, lead_id)
        returns = await lead_returns(site, viewer, lead_id)
        return _lead_page(site, request, viewer, lead, dispositions, returns, revealed=True)

    @router.get("/ui/pings")
    async def ping_list(
        request: Request,
        search: Annotated[PingSearch, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        rows = await views.ping_list(ports, viewer, PAGE_SIZE + 1, **search.filters())
        return _list_page(site, request, viewer, "pings.html", rows, search)

    @router.get("/ui/pings/{ping_id}")
    async def ping_page(
        request: Request, ping_id: str, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        ping = await views.ping_trace(ports, viewer, ping_id)
        return site.render(request, "ping.html", viewer=viewer, ping=ping)

    @router.get("/ui/attempts")
    async def attempt_list(
        request: Request,
        search: Annotated[AttemptSearch, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        rows = await views.attempt_list(ports, viewer, PAGE_SIZE + 1, **search.filters())
        return _list_page(site, request, viewer, "attempts.html", rows, search)

    return router


def _list_page(
    site: Site,
    request: Request,
    viewer: Principal,
    template: str,
    rows: Sequence[dict[str, Any]],
    search: Any,
) -> HTMLResponse:
    """One page of a list fetched one row long: the extra row says an older page exists."""
    shown = rows[:PAGE_SIZE]
    older = (
        str(request.url.include_query_params(before=shown[-1]["id"]))
        if len(rows) > PAGE_SIZE
        else None
    )
    newest = str(request.url.remove_query_params("before")) if search.before else None
    return site.render(
        request, template, viewer=viewer, rows=shown, search=search, older=older, newest=newest
    )


def _lead_page(
    site: Site,
    request: Request,
    viewer: Principal,
    lead: dict[str, Any],
    dispositions: list[dict[str, Any]],
    returns: dict[str, Any],
    *,
    revealed: bool,
) -> HTMLResponse:
    return site.render(
        request,
        "lead.html",
        viewer=viewer,
        lead=lead,
        # what its buyers reported (a supplier: the codes only)
        dispositions=dispositions,
        # its returns and the sales the viewer may return (staff who operate: a form)
        returns=returns,
        # the auction's winners are shown with their sale's status (a reversed sale is no win)
        sale_status={sale["order_id"]: sale["status"] for sale in lead["sales"]},
        revealed=revealed,
        # the scope's: staff who may, and a supplier's user its own leads'
        may_reveal=scope_for(site.ports, viewer).pii,
    )
