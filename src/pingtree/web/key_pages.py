"""The campaign keys page: every campaign's keys with their name, dates and state, and forms
to create, rotate and revoke them. The data and the rules come from ``api.key_views``, as the
admin API's do, scoped by the signed-in principal: staff see every campaign's keys, a
supplier's user its own campaigns' (its portal). A new key's token is shown once, in a
read-only field to copy, on the page that answers the form (never in a URL, never
stored)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import URL

from pingtree.api import key_views
from pingtree.api.auth import KeyChecker
from pingtree.api.party_admin import KEY_NAME
from pingtree.principals import Principal
from pingtree.web.site import Site

__all__ = ["key_pages"]

_CAMPAIGN_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
_KEY_ID = r"^[0-9a-f]{16}$"


def key_pages(site: Site, keys: KeyChecker) -> APIRouter:
    router = site.router()
    ports = site.ports

    async def render(
        request: Request, viewer: Principal, campaign_id: str | None, issued: dict[str, object]
    ) -> HTMLResponse:
        rows = await key_views.key_list(ports, viewer, campaign_id=campaign_id)
        return site.render(
            request,
            "keys.html",
            viewer=viewer,
            rows=rows,
            campaigns=key_views.campaign_names(ports, viewer),
            campaign_id=campaign_id,
            may_manage=key_views.may_manage_keys(viewer),
            issued=issued,
        )

    @router.get("/ui/keys")
    async def key_list(
        request: Request,
        campaign_id: Annotated[str | None, Query(pattern=_CAMPAIGN_ID)] = None,
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        return await render(request, viewer, campaign_id, {})

    @router.post("/ui/keys")
    async def create_key(
        request: Request,
        campaign_id: Annotated[str, Form(pattern=_CAMPAIGN_ID)],
        name: Annotated[str, Form(max_length=200, pattern=KEY_NAME)] = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> HTMLResponse:
        issued = await key_views.create_key(ports, viewer, keys, campaign_id, name.strip())
        return await render(request, viewer, campaign_id, issued)

    @router.post("/ui/keys/{key_id}/rotate")
    async def rotate_key(
        request: Request,
        key_id: Annotated[str, Path(pattern=_KEY_ID)],
        campaign_id: Annotated[str, Form(pattern=_CAMPAIGN_ID)],
        overlap_hours: Annotated[int, Form(ge=0, le=key_views.MAX_OVERLAP_HOURS)] = 24,
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> HTMLResponse:
        issued = await key_views.rotate_key(ports, viewer, keys, campaign_id, key_id, overlap_hours)
        return await render(request, viewer, campaign_id, issued)

    @router.post("/ui/keys/{key_id}/revoke")
    async def revoke_key(
        key_id: Annotated[str, Path(pattern=_KEY_ID)],
        campaign_id: Annotated[str, Form(pattern=_CAMPAIGN_ID)],
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        await key_views.revoke_key(ports, viewer, keys, campaign_id, key_id)
        target = URL("/ui/keys").include_query_params(campaign_id=campaign_id)
        return RedirectResponse(str(target), status_code=303)

    return router
