"""The buyer portal's pages (``/ui/my-orders``, ``/ui/bought-leads``): a buyer's user's
orders with their cap use and schedules, pausing and resuming them, the leads it bought with
their personal data and what it reported became of them (its dispositions, and a form to
report one), and their CSV export. The data and the rules are ``api.buyer_views``',
``api.disposition_views``' and ``api.config_views``'. An email or phone searched for is
swapped for its HMAC index before the list is shown, so no URL carries it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import StringConstraints

from pingtree.api import buyer_views, config_views, disposition_views
from pingtree.config.entities import Kind
from pingtree.domain.dispositions import MAX_NOTE
from pingtree.flows.errors import InputError
from pingtree.principals import Principal
from pingtree.web.person_search import person_search
from pingtree.web.return_pages import lead_returns
from pingtree.web.site import Site

__all__ = ["buyer_pages"]

_ORDER_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
_LEAD_ID = r"^[A-Za-z0-9-]{1,64}$"
#: a person's HMAC index, as links carry it in place of an email or phone
_Person = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def buyer_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/my-orders")
    async def orders(request: Request, viewer: Principal = Depends(site.signed_in)) -> HTMLResponse:
        rows = await buyer_views.order_views(ports, viewer)
        return site.render(
            request, "buyer_orders.html", viewer=viewer, orders=rows, cap_text=buyer_views.cap_text
        )

    @router.post("/ui/my-orders/{order_id}/pause")
    async def pause(
        order_id: Annotated[str, Path(pattern=_ORDER_ID)],
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        return await _switch(site, viewer, order_id, paused=True)

    @router.post("/ui/my-orders/{order_id}/resume")
    async def resume(
        order_id: Annotated[str, Path(pattern=_ORDER_ID)],
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        return await _switch(site, viewer, order_id, paused=False)

    @router.get("/ui/bought-leads")
    async def leads(
        request: Request,
        since: dt.date | None = None,
        until: dt.date | None = None,
        email: Annotated[str | None, Query(max_length=320)] = None,
        phone: Annotated[str | None, Query(max_length=320)] = None,
        person: Annotated[list[_Person], Query()] = [],  # noqa: B006
        before: Annotated[str | None, Query(pattern=_LEAD_ID)] = None,
        viewer: Principal = Depends(site.signed_in),
    ) -> Response:
        buyer_views.require_buyer(viewer)
        if email or phone:
            return person_search(site, request, email or None, phone or None)
        rows = await buyer_views.bought_leads(
            ports,
            viewer,
            since=_start(since),
            until=_start(until, next_day=True),
            persons=person,
            before=before,
        )
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "before" and v]
        return site.render(
            request,
            "buyer_leads.html",
            viewer=viewer,
            rows=rows,
            since=since,
            until=until,
            searched=bool(person),
            export=f"/ui/bought-leads.csv?{urlencode(query)}" if query else "/ui/bought-leads.csv",
            older=_older(request, rows),
        )

    @router.get("/ui/bought-leads.csv")
    async def export(
        since: dt.date | None = None,
        until: dt.date | None = None,
        person: Annotated[list[_Person], Query()] = [],  # noqa: B006
        viewer: Principal = Depends(site.signed_in),
    ) -> StreamingResponse:
        lines = await buyer_views.export_csv(
            ports,
            viewer,
            since=_start(since),
            until=_start(until, next_day=True),
            persons=person,
        )
        name = f"leads-{viewer.buyer_id}-{ports.clock.now():%Y%m%d-%H%M%S}.csv"
        return StreamingResponse(
            lines,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    @router.get("/ui/bought-leads/{lead_id}")
    async def lead(
        request: Request,
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        return await _lead_page(site, request, viewer, lead_id)

    @router.post("/ui/bought-leads/{lead_id}/dispositions")
    async def report_disposition(
        request: Request,
        lead_id: Annotated[str, Path(pattern=_LEAD_ID)],
        code: Annotated[str, Form(min_length=1, max_length=64)],
        value: Annotated[str, Form(max_length=40)] = "",
        note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> Response:
        buyer_views.require_buyer(viewer)
        try:
            await disposition_views.report_disposition(
                ports, viewer, lead_id, code=code, value=value, note=note
            )
        except InputError as invalid:
            errors = [f"{e.loc[-1]}: {e.msg}" for e in invalid.errors]
            asked = {"code": code, "value": value, "note": note}
            return await _lead_page(site, request, viewer, lead_id, errors, asked, status=422)
        return RedirectResponse(f"/ui/bought-leads/{lead_id}#dispositions", status_code=303)

    return router


async def _lead_page(
    site: Site,
    request: Request,
    viewer: Principal,
    lead_id: str,
    errors: list[str] | None = None,
    asked: dict[str, str] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A bought lead with its personal data, its dispositions and the form to report one
    (with the refused input and why, after a refused report)."""
    shown = await buyer_views.bought_lead(site.ports, viewer, lead_id)
    response = site.render(
        request,
        "buyer_lead.html",
        viewer=viewer,
        lead=shown,
        dispositions=await disposition_views.lead_dispositions(site.ports, viewer, lead_id),
        codes=disposition_views.disposition_codes(site.ports, shown.vertical_id),
        # its return, or the form to request one while the order's window is open
        returns=await lead_returns(site, viewer, lead_id),
        errors=errors or [],
        asked=asked or {},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _switch(
    site: Site, viewer: Principal, order_id: str, *, paused: bool
) -> RedirectResponse:
    buyer_views.require_buyer(viewer)
    await config_views.switch(site.ports, viewer, Kind.ORDERS, order_id, paused=paused)
    return RedirectResponse("/ui/my-orders", status_code=303)


def _start(day: dt.date | None, *, next_day: bool = False) -> dt.datetime | None:
    """A day's first instant in UTC (the next day's, for an ``until`` that includes it)."""
    if day is None:
        return None
    if next_day:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _older(request: Request, rows: list[dict[str, object]]) -> str | None:
    if len(rows) < buyer_views.PAGE:
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "before"]
    return f"/ui/bought-leads?{urlencode([*query, ('before', str(rows[-1]['id']))])}"
