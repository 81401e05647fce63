"""The forms of notes and contacts on a buyer's or a supplier's admin page (the sections of
``_crm.html``, filled by ``config_pages`` through ``api.crm_views``): add a note, add, edit
and remove a contact. Each posts with the session's CSRF token and comes back to the party's
page; bad input is an error page naming each field.
"""

# no ``from __future__ import annotations``: each route's path parameter is named after its
# kind (``buyer_id``, ``supplier_id``) by an alias made in the loop, read when defined

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import URL

from pingtree.api import crm_views
from pingtree.api.crm_views import PartyKind
from pingtree.flows.errors import InputError
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["crm_pages"]

ContactId = Annotated[str, Path(min_length=1, max_length=36)]


def crm_pages(site: Site) -> APIRouter:
    router = site.router()
    for kind in ("buyer", "supplier"):
        _party_routes(router, site, kind)
    return router


def _party_routes(router: APIRouter, site: Site, kind: PartyKind) -> None:
    ports = site.ports
    base = f"/ui/{kind}s/{{{kind}_id}}"
    PartyId = Annotated[str, Path(alias=f"{kind}_id", min_length=1, max_length=64)]  # noqa: N806

    async def add_note(
        request: Request, party_id: PartyId, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> RedirectResponse:
        form = await _form(request)
        with _refused("The note cannot be added."):
            await crm_views.add_note(ports, viewer, kind, party_id, form.get("body", ""))
        return _back(kind, party_id, "note-added", "notes")

    async def add_contact(
        request: Request, party_id: PartyId, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> RedirectResponse:
        form = await _form(request)
        with _refused("The contact cannot be added."):
            await crm_views.add_contact(ports, viewer, kind, party_id, form)
        return _back(kind, party_id, "contact-added", "contacts")

    async def edit_contact(
        request: Request,
        party_id: PartyId,
        contact_id: ContactId,
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        form = await _form(request)
        with _refused("The contact cannot be saved."):
            await crm_views.edit_contact(ports, viewer, kind, party_id, contact_id, form)
        return _back(kind, party_id, "contact-saved", "contacts")

    async def remove_contact(
        party_id: PartyId,
        contact_id: ContactId,
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> RedirectResponse:
        await crm_views.remove_contact(ports, viewer, kind, party_id, contact_id)
        return _back(kind, party_id, "contact-removed", "contacts")

    router.add_api_route(f"{base}/notes", add_note, methods=["POST"])
    router.add_api_route(f"{base}/contacts", add_contact, methods=["POST"])
    router.add_api_route(f"{base}/contacts/{{contact_id}}", edit_contact, methods=["POST"])
    router.add_api_route(f"{base}/contacts/{{contact_id}}/remove", remove_contact, methods=["POST"])


async def _form(request: Request) -> dict[str, Any]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


@contextmanager
def _refused(message: str) -> Iterator[None]:
    """An :class:`InputError` inside becomes a 422 error page naming each field."""
    try:
        yield
    except InputError as error:
        details = [f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in error.errors]
        raise PageError(422, message, details) from None


def _back(kind: PartyKind, party_id: str, notice: str, section: str) -> RedirectResponse:
    target = URL(f"/ui/{kind}s/{party_id}").include_query_params(notice=notice)
    return RedirectResponse(f"{target}#{section}", status_code=303)
