"""The sign-ins page: every try to sign in, newest first, searchable by username, address
and outcome; admins only. The data comes from ``api.sign_in_views``, as the admin API's
does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingtree.api.sign_in_views import OUTCOMES, sign_in_list
from pingtree.principals import Principal
from pingtree.web.filters import SignInSearch
from pingtree.web.site import Site

__all__ = ["sign_in_pages"]

_PAGE_SIZE = 50


def sign_in_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get("/ui/sign-ins")
    async def sign_ins(
        request: Request,
        search: Annotated[SignInSearch, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        # one row more than shown: it says an older page exists
        rows = await sign_in_list(site.ports, viewer, _PAGE_SIZE + 1, **search.filters())
        shown = rows[:_PAGE_SIZE]
        older = (
            str(request.url.include_query_params(before=shown[-1]["id"]))
            if len(rows) > _PAGE_SIZE
            else None
        )
        newest = str(request.url.remove_query_params("before")) if search.before else None
        return site.render(
            request,
            "sign_ins.html",
            viewer=viewer,
            rows=shown,
            search=search,
            outcomes=[(outcome, outcome.replace("_", " ")) for outcome in OUTCOMES],
            older=older,
            newest=newest,
        )

    return router
