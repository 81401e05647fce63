"""The erasures page: who erased whom and when, newest first, and a form to erase a person
by email, phone or lead id; admins only. Both go through ``api.erasure_views``, as the
admin API does, and the form's erasures are recorded as ``user:<id>``. The value typed is
never shown back (it is personal data)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import URL

from pingtree.api.erasure_views import erase, erasure_list, may_erase
from pingtree.flows.errors import InputError
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["erasure_pages"]

_PAGE_SIZE = 50


def erasure_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get("/ui/erasures")
    async def erasures(
        request: Request,
        before: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F-]{0,64}$")] = None,
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        # one row more than shown: it says an older page exists
        rows = await erasure_list(site.ports, viewer, _PAGE_SIZE + 1, before=before or None)
        shown = rows[:_PAGE_SIZE]
        older = (
            str(request.url.include_query_params(before=shown[-1]["id"]))
            if len(rows) > _PAGE_SIZE
            else None
        )
        newest = str(request.url.remove_query_params("before")) if before else None
        erased = request.query_params.get("erased")
        return site.render(
            request,
            "erasures.html",
            viewer=viewer,
            rows=shown,
            older=older,
            newest=newest,
            erased=int(erased) if erased and erased.isdigit() else None,
        )

    @router.post("/ui/erasures")
    async def erase_person(
        by: Annotated[Literal["email", "phone", "lead_id"], Form()],
        value: Annotated[str, Form(min_length=1, max_length=320)],
        confirm: Annotated[bool, Form()] = False,
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        _admin(viewer)
        if not confirm:
            raise PageError(400, "Tick the box to confirm: an erasure cannot be undone.")
        try:
            done = await erase(site.ports, viewer, **{by: value})
        except InputError as error:
            raise PageError(422, "Nothing was erased.", [e.msg for e in error.errors]) from None
        target = URL("/ui/erasures").include_query_params(erased=done["leads"])
        return RedirectResponse(str(target), status_code=303)

    return router


def _admin(viewer: Principal) -> None:
    if not may_erase(viewer):
        raise PageError(403, f"The {viewer.role} role may not see or make erasures.")
