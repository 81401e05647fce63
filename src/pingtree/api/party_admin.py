"""The admin API's routes for the parties' own keys: a buyer's keys (which call
``/api/v1/buyer``) and a supplier's (``/api/v1/supplier``), made, listed and revoked by an
admin token. The rules are ``api.key_views``' (the UI's party keys page calls the same)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from pingtree.api import key_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports

__all__ = ["KEY_NAME", "party_admin_router"]


#: a key's name: any text but control characters (PostgreSQL text cannot hold NUL)
KEY_NAME = r"^[^\x00-\x1f\x7f]*$"


class PartyKeyAsked(BaseModel):
    name: str = Field(default="", max_length=200, pattern=KEY_NAME)


def party_admin_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin", tags=["admin"], dependencies=[admin], responses=ADMIN_RESPONSES
    )

    @router.post("/buyers/{buyer_id}/keys", status_code=201)
    async def create_buyer_key(
        buyer_id: str, body: PartyKeyAsked | None = None, caller: Caller = admin
    ) -> dict[str, Any]:
        """A new key acting as the buyer on ``/api/v1/buyer`` (its own leads, orders and
        dispositions only). The key (``api_key``) is shown this once."""
        name = body.name if body is not None else ""
        principal = token_principal(caller)
        return await key_views.create_party_key(ports, principal, keys, "buyer", buyer_id, name)

    @router.get("/buyers/{buyer_id}/keys")
    async def list_buyer_keys(buyer_id: str, caller: Caller = admin) -> list[dict[str, Any]]:
        """The buyer's keys, revoked ones too: id, name, ``state``, dates. Never a secret."""
        principal = token_principal(caller)
        return await key_views.party_key_list(ports, principal, role="buyer", party_id=buyer_id)

    @router.delete("/buyers/{buyer_id}/keys/{key_id}", status_code=204)
    async def revoke_buyer_key(buyer_id: str, key_id: str, caller: Caller = admin) -> None:
        """Revoke one of the buyer's keys: it stops working now."""
        principal = token_principal(caller)
        await key_views.revoke_party_key(ports, principal, keys, "buyer", buyer_id, key_id)

    @router.post("/suppliers/{supplier_id}/keys", status_code=201)
    async def create_supplier_key(
        supplier_id: str, body: PartyKeyAsked | None = None, caller: Caller = admin
    ) -> dict[str, Any]:
        """A new key acting as the supplier on ``/api/v1/supplier`` (its own campaigns and
        figures only). The key (``api_key``) is shown this once."""
        name = body.name if body is not None else ""
        principal = token_principal(caller)
        return await key_views.create_party_key(
            ports, principal, keys, "supplier", supplier_id, name
        )

    @router.get("/suppliers/{supplier_id}/keys")
    async def list_supplier_keys(supplier_id: str, caller: Caller = admin) -> list[dict[str, Any]]:
        """The supplier's keys, revoked ones too: id, name, ``state``, dates. Never a secret."""
        principal = token_principal(caller)
        return await key_views.party_key_list(
            ports, principal, role="supplier", party_id=supplier_id
        )

    @router.delete("/suppliers/{supplier_id}/keys/{key_id}", status_code=204)
    async def revoke_supplier_key(supplier_id: str, key_id: str, caller: Caller = admin) -> None:
        """Revoke one of the supplier's keys: it stops working now."""
        principal = token_principal(caller)
        await key_views.revoke_party_key(ports, principal, keys, "supplier", supplier_id, key_id)

    return router
