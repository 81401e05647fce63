"""The suppression lists page: every list with its count, a form to upload a CSV of phones
and emails to a list, a button to drop one; staff only. All of it goes through
``api.suppression_views``, as the admin API does. The numbers and addresses uploaded are
hashed at once and never shown back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import URL

from pingtree.api.suppression_routes import MAX_CSV_BYTES
from pingtree.api.suppression_views import (
    may_suppress,
    remove_list,
    suppression_lists,
    upload_list,
)
from pingtree.flows.errors import InputError
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["suppression_pages"]


def suppression_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get("/ui/suppression")
    async def lists(request: Request, viewer: Principal = Depends(site.signed_in)) -> HTMLResponse:
        _staff(viewer)
        params = request.query_params
        return site.render(
            request,
            "suppression.html",
            viewer=viewer,
            rows=await suppression_lists(site.ports, viewer),
            added=params.get("added"),
            read=params.get("read"),
            bad=params.get("bad"),
            removed=params.get("removed"),
        )

    @router.post("/ui/suppression")
    async def upload(
        list_id: Annotated[str, Form(min_length=1, max_length=64)],
        csv_file: Annotated[UploadFile, File()],
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        _staff(viewer)
        raw = await csv_file.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            raise PageError(413, f"The file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB.")
        try:
            done = await upload_list(site.ports, viewer, list_id, raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise PageError(400, "The file is not UTF-8 text.") from None
        except InputError as error:
            raise PageError(422, "Nothing was added.", [e.msg for e in error.errors]) from None
        target = URL("/ui/suppression").include_query_params(
            added=done["added"], read=done["read"], bad=done["bad_line_count"]
        )
        return RedirectResponse(str(target), status_code=303)

    @router.post("/ui/suppression/{list_id}/delete")
    async def drop(
        list_id: str, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> RedirectResponse:
        _staff(viewer)
        try:
            done = await remove_list(site.ports, viewer, list_id)
        except InputError as error:
            raise PageError(422, "Nothing was dropped.", [e.msg for e in error.errors]) from None
        target = URL("/ui/suppression").include_query_params(removed=done["removed"])
        return RedirectResponse(str(target), status_code=303)

    return router


def _staff(viewer: Principal) -> None:
    if not may_suppress(viewer):
        raise PageError(403, f"The {viewer.role} role may not see suppression lists.")
