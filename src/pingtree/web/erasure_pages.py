"""The erasures page: who erased whom and when, newest first; admins only. The data comes
from ``api.erasure_views``, as the admin API's does. Erasing itself is done with
``pingtree erase`` or ``POST /api/v1/admin/erasures``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingtree.api.erasure_views import erasure_list, may_erase
from pingtree.store.users import SignedIn
from pingtree.web.site import PageError, Site

__all__ = ["erasure_pages"]

_PAGE_SIZE = 50


def erasure_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get("/ui/erasures")
    async def erasures(
        request: Request,
        before: Annotated[str | None, Query(max_length=36)] = None,
        viewer: SignedIn = Depends(site.signed_in),
    ) -> HTMLResponse:
        if not may_erase(viewer.role):
            raise PageError(403, f"The {viewer.role} role may not see the erasures.")
        # one row more than shown: it says an older page exists
        rows = await erasure_list(site.ports, _PAGE_SIZE + 1, before=before or None)
        shown = rows[:_PAGE_SIZE]
        older = (
            str(request.url.include_query_params(before=shown[-1]["id"]))
            if len(rows) > _PAGE_SIZE
            else None
        )
        newest = str(request.url.remove_query_params("before")) if before else None
        return site.render(
            request, "erasures.html", viewer=viewer, rows=shown, older=older, newest=newest
        )

    return router
