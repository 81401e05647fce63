"""The supplier portal's front page (``/ui/my-campaigns``): the signed-in supplier user's own
campaigns with their posting instructions and keys, and the test-mode sandbox. The data and
the scope come from ``api.supplier_portal``; the keys are the keys page's, scoped by the same
principal (``/ui/keys``), and the pings and leads pages are the staff's, scoped likewise."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from pingtree.api.supplier_portal import supplier_portal
from pingtree.principals import SignedIn
from pingtree.web.site import Site

__all__ = ["supplier_pages"]


def supplier_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get("/ui/my-campaigns")
    async def portal(request: Request, viewer: SignedIn = Depends(site.signed_in)) -> HTMLResponse:
        portal = await supplier_portal(site.ports, viewer)
        return site.render(request, "supplier_portal.html", viewer=viewer, portal=portal)

    return router
