"""The admin API's notes and contacts on buyers and suppliers (the guide's "CRM"): admin
tokens only, through the views the buyer's and supplier's admin pages use
(``api.crm_views``)."""

# no ``from __future__ import annotations``: each route's path parameter is named after its
# kind (``buyer_id``, ``supplier_id``) by an alias made in the loop, read when defined
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from pingtree.api import crm_views as views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.crm_views import (
    CONTACT_LIMITS,
    EMAIL_PATTERN,
    MAX_NOTE,
    NOT_BLANK,
    PHONE_PATTERN,
    PartyKind,
)
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports

__all__ = ["crm_router"]

ContactId = Annotated[str, Path(min_length=1, max_length=36)]


class NoteAsked(BaseModel):
    body: str = Field(
        min_length=1, max_length=MAX_NOTE, pattern=NOT_BLANK, description="the note's text"
    )


class NoteOut(BaseModel):
    id: str
    party: str = Field(description="buyer:<id> or supplier:<id>")
    body: str
    author: str = Field(description="who wrote it: user:<id> or key:<id>")
    author_name: str
    created_at: dt.datetime


class ContactAsked(BaseModel):
    """A business contact: a name, and optionally a role or title, an email address, a
    phone number and notes."""

    name: str = Field(min_length=1, max_length=CONTACT_LIMITS["name"], pattern=NOT_BLANK)
    role: str = Field(default="", max_length=CONTACT_LIMITS["role"])
    email: str = Field(
        default="",
        max_length=CONTACT_LIMITS["email"],
        pattern=f"^$|{EMAIL_PATTERN}",
        description="blank, or an email address",
    )
    phone: str = Field(
        default="",
        max_length=CONTACT_LIMITS["phone"],
        pattern=PHONE_PATTERN,
        description="digits, spaces, + ( ) . - / # x and an extension",
    )
    notes: str = Field(default="", max_length=CONTACT_LIMITS["notes"])


class ContactOut(BaseModel):
    id: str
    party: str
    name: str
    role: str
    email: str
    phone: str
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime


def crm_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin", tags=["admin"], dependencies=[admin], responses=ADMIN_RESPONSES
    )
    for kind in ("buyer", "supplier"):
        _party_routes(router, ports, kind, admin)
    return router


def _party_routes(router: APIRouter, ports: Ports, kind: PartyKind, admin: Any) -> None:
    base = f"/{kind}s/{{{kind}_id}}"
    PartyId = Annotated[str, Path(alias=f"{kind}_id", min_length=1, max_length=64)]  # noqa: N806

    async def list_notes(party_id: PartyId, caller: Caller = admin) -> list[NoteOut]:
        notes = await views.notes(ports, token_principal(caller), kind, party_id)
        return [NoteOut(**n) for n in notes]

    async def add_note(party_id: PartyId, body: NoteAsked, caller: Caller = admin) -> NoteOut:
        note = await views.add_note(ports, token_principal(caller), kind, party_id, body.body)
        return NoteOut(**note)

    async def list_contacts(party_id: PartyId, caller: Caller = admin) -> list[ContactOut]:
        found = await views.contacts(ports, token_principal(caller), kind, party_id)
        return [ContactOut(**c) for c in found]

    async def add_contact(
        party_id: PartyId, body: ContactAsked, caller: Caller = admin
    ) -> ContactOut:
        made = await views.add_contact(
            ports, token_principal(caller), kind, party_id, body.model_dump()
        )
        return ContactOut(**made)

    async def edit_contact(
        party_id: PartyId, contact_id: ContactId, body: ContactAsked, caller: Caller = admin
    ) -> ContactOut:
        changed = await views.edit_contact(
            ports, token_principal(caller), kind, party_id, contact_id, body.model_dump()
        )
        return ContactOut(**changed)

    async def remove_contact(
        party_id: PartyId, contact_id: ContactId, caller: Caller = admin
    ) -> Response:
        await views.remove_contact(ports, token_principal(caller), kind, party_id, contact_id)
        return Response(status_code=204)

    word = kind
    router.add_api_route(
        f"{base}/notes",
        list_notes,
        methods=["GET"],
        summary=f"A {word}'s notes, newest first",
        operation_id=f"list_{kind}_notes",
    )
    router.add_api_route(
        f"{base}/notes",
        add_note,
        methods=["POST"],
        status_code=201,
        summary=f"Add a note on a {word} (notes are never edited)",
        operation_id=f"add_{kind}_note",
    )
    router.add_api_route(
        f"{base}/contacts",
        list_contacts,
        methods=["GET"],
        summary=f"A {word}'s contacts, by name",
        operation_id=f"list_{kind}_contacts",
    )
    router.add_api_route(
        f"{base}/contacts",
        add_contact,
        methods=["POST"],
        status_code=201,
        summary=f"Add a contact to a {word}",
        operation_id=f"add_{kind}_contact",
    )
    router.add_api_route(
        f"{base}/contacts/{{contact_id}}",
        edit_contact,
        methods=["PUT"],
        summary=f"Replace a {word}'s contact",
        operation_id=f"edit_{kind}_contact",
    )
    router.add_api_route(
        f"{base}/contacts/{{contact_id}}",
        remove_contact,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        summary=f"Remove a {word}'s contact",
        operation_id=f"remove_{kind}_contact",
    )
