"""The party keys page (``/ui/party-keys``): a buyer's or a supplier's own API keys, which
call ``/api/v1/buyer`` and ``/api/v1/supplier`` as that party. Staff see every party's keys
(those who may operate make and revoke them); a party's user sees, makes and revokes its
own (its portal). The data and the rules are ``api.key_views``', as the admin API's. A new
key's token is shown once, on the page that answers the form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from pingtree.api import key_views
from pingtree.api.auth import KeyChecker
from pingtree.api.party_admin import KEY_NAME
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["party_key_pages"]

#: ``buyer:<id>`` or ``supplier:<id>``, as the forms name a party
_PARTY = r"^(buyer|supplier):[A-Za-z0-9_.:-]{1,64}$"
_KEY_ID = r"^[0-9a-f]{16}$"


def party_key_pages(site: Site, keys: KeyChecker) -> APIRouter:
    router = site.router()
    ports = site.ports

    async def render(
        request: Request, viewer: Principal, issued: dict[str, object]
    ) -> HTMLResponse:
        rows = await key_views.party_key_list(ports, viewer)
        return site.render(
            request,
            "party_keys.html",
            viewer=viewer,
            rows=rows,
            parties=key_views.parties(ports, viewer),
            may_manage=key_views.may_manage_party_keys(viewer),
            issued=issued,
        )

    @router.get("/ui/party-keys")
    async def key_list(
        request: Request, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        return await render(request, viewer, {})

    @router.post("/ui/party-keys")
    async def create_key(
        request: Request,
        party: Annotated[str, Form(pattern=_PARTY)],
        name: Annotated[str, Form(max_length=200, pattern=KEY_NAME)] = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> HTMLResponse:
        role, party_id = _split(party)
        issued = await key_views.create_party_key(ports, viewer, keys, role, party_id, name.strip())
        return await render(request, viewer, issued)

    @router.post("/ui/party-keys/{key_id}/revoke")
    async def revoke_key(
        key_id: Annotated[str, Path(pattern=_KEY_ID)],
        party: Annotated[str, Form(pattern=_PARTY)],
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        role, party_id = _split(party)
        await key_views.revoke_party_key(ports, viewer, keys, role, party_id, key_id)
        return RedirectResponse("/ui/party-keys", status_code=303)

    return router


def _split(party: str) -> tuple[str, str]:
    role, _, party_id = party.partition(":")
    if role not in key_views.PARTY_KEY_ROLES:  # the pattern admits only these
        raise PageError(400, "Choose a buyer or a supplier.")
    return role, party_id
