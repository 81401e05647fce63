"""The returns pages: ``/ui/returns``, the staff's queue (approve, deny) and each party's own
returns (a buyer's claims with their credit; a supplier's campaigns' leads returned with
what was charged back, never the buyer or its price), and the forms that request a return:
on the staff's lead page (``/ui/leads/{id}``) and on the buyer portal's bought lead
(``/ui/bought-leads/{id}``). The data and the rules are ``api.return_views``'.

A refused form answers with a page naming why: a field's problem (422), a claim decided
already or a window closed (409), a principal who may not (403).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pingtree.api import return_views
from pingtree.api.scoping import may_open
from pingtree.flows.errors import InputError
from pingtree.flows.returns import MAX_COMMENT
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["return_pages"]

_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
_Id = Annotated[str, Path(pattern=_ID)]
_Note = Annotated[str, Form(max_length=MAX_COMMENT)]
#: the queue's filter: a status, or ``all``; none given, the staff's default is ``requested``
_STATUS_CHOICES = ("all", *return_views.RETURN_STATUSES)

#: the returns a page shows (the view's default)
_PAGE = 100

T = TypeVar("T")


def return_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/returns")
    async def queue(
        request: Request,
        status: Annotated[str, Query(max_length=16)] = "",
        before: Annotated[str | None, Query(pattern=_ID)] = None,
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        return await _queue_page(site, request, viewer, status, before=before)

    @router.post("/ui/returns/{return_id}/approve")
    async def approve(
        request: Request,
        return_id: _Id,
        note: _Note = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> Response:
        return await _decide(site, request, viewer, return_id, note, approve=True)

    @router.post("/ui/returns/{return_id}/deny")
    async def deny(
        request: Request,
        return_id: _Id,
        note: _Note = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> Response:
        return await _decide(site, request, viewer, return_id, note, approve=False)

    @router.post("/ui/leads/{lead_id}/returns")
    async def staff_request(
        lead_id: _Id,
        sale_id: Annotated[str, Form(pattern=_ID)],
        reason: Annotated[str, Form(min_length=1, max_length=64)],
        comment: _Note = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        if not viewer.is_staff:  # a party's user returns from its own portal
            raise PageError(403, f"The {viewer.role} role may not return leads here.")
        await _refused_as_page(
            return_views.ask_return(
                ports, viewer, reason=reason, comment=comment, sale_id=sale_id, lead_id=lead_id
            ),
            "The return was not requested.",
        )
        return RedirectResponse(f"/ui/leads/{lead_id}#returns", status_code=303)

    @router.post("/ui/bought-leads/{lead_id}/return")
    async def buyer_request(
        lead_id: _Id,
        reason: Annotated[str, Form(min_length=1, max_length=64)],
        comment: _Note = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        if viewer.role != "buyer":
            raise PageError(403, f"The {viewer.role} role has no bought leads to return.")
        await _refused_as_page(
            return_views.ask_return(ports, viewer, reason=reason, comment=comment, lead_id=lead_id),
            "The return was not requested.",
        )
        return RedirectResponse(f"/ui/bought-leads/{lead_id}#return", status_code=303)

    return router


async def lead_returns(site: Site, viewer: Principal, lead_id: str) -> dict[str, Any]:
    """What the lead pages show of a lead's returns (``_lead_returns.html``'s ``returns``):
    its claims as ``viewer`` may see them and the sales it may return now; nothing for a
    principal who may not see returns."""
    if not may_open(viewer, "returns"):
        return {"returns": [], "returnable": [], "reasons": []}
    return await return_views.lead_returns(site.ports, viewer, lead_id)


async def _queue_page(
    site: Site,
    request: Request,
    viewer: Principal,
    status: str,
    errors: list[str] | None = None,
    *,
    before: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    """The returns ``viewer`` may see with ``status``, newest first, a page at a time."""
    if status and status not in _STATUS_CHOICES:
        raise PageError(
            400, "The filter is not valid.", [f"status: one of {', '.join(_STATUS_CHOICES)}"]
        )
    if not status:  # the staff's queue is what waits for them; a party sees all its own
        status = "requested" if viewer.is_staff else "all"
    rows = await return_views.return_list(
        site.ports, viewer, status=None if status == "all" else status, before=before
    )
    older = None
    if len(rows) == _PAGE:
        older = str(request.url.include_query_params(status=status, before=rows[-1]["id"]))
    newest = str(request.url.remove_query_params("before")) if before else None
    return site.render(
        request,
        "returns.html",
        viewer=viewer,
        rows=rows,
        shown_status=status,
        statuses=_STATUS_CHOICES,
        errors=errors or [],
        older=older,
        newest=newest,
        status=code,
    )


async def _decide(
    site: Site, request: Request, viewer: Principal, return_id: str, note: str, *, approve: bool
) -> Response:
    """Approve or deny, back to the queue; a refused note is shown on the queue (422)."""
    try:
        await return_views.decide_return(site.ports, viewer, return_id, approve=approve, note=note)
    except InputError as invalid:
        return await _queue_page(site, request, viewer, "requested", _lines(invalid), code=422)
    return RedirectResponse("/ui/returns", status_code=303)


async def _refused_as_page(work: Awaitable[T], message: str) -> T:
    """Await a view; bad input as a 422 page naming each field (a conflict is a 409 page,
    as on every page)."""
    try:
        return await work
    except InputError as invalid:
        raise PageError(422, message, _lines(invalid)) from None


def _lines(error: InputError) -> list[str]:
    return [f"{e.loc[-1]}: {e.msg}" for e in error.errors]
