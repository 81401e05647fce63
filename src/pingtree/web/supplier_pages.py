"""The supplier portal's front page (``/ui/my-campaigns``): the signed-in supplier user's own
campaigns with their posting instructions and keys, and the test-mode sandbox. The data and
the scope come from ``api.supplier_portal``; the keys are the keys page's, scoped by the same
principal (``/ui/keys``), and the pings and leads pages are the staff's, scoped likewise."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingtree.api.supplier_portal import MAX_DAYS, supplier_figures_of, supplier_portal
from pingtree.principals import Principal
from pingtree.web.site import Site

__all__ = ["supplier_pages"]


def supplier_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get("/ui/my-campaigns")
    async def portal(
        request: Request,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 7,
        test: bool = False,
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        portal = await supplier_portal(site.ports, viewer)
        figures = await supplier_figures_of(site.ports, viewer, days, test=test)
        return site.render(
            request,
            "supplier_portal.html",
            viewer=viewer,
            portal=portal,
            figures=figures,
            test=test,
        )

    return router
