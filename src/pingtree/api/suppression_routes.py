"""The suppression lists' routes on the admin API (staff only): upload a CSV of phones and
emails to a list, read the lists, drop one. The rules are ``api.suppression_views``'."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from pingtree.api import suppression_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.body import read_bounded
from pingtree.api.problems import Problem
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports

__all__ = ["MAX_CSV_BYTES", "suppression_routes"]

#: the largest CSV one upload takes (some 500,000 phone numbers); a longer list goes in parts
MAX_CSV_BYTES = 8 * 1024 * 1024

ListId = Annotated[str, Path(pattern=suppression_views.LIST_ID)]
#: the upload's body, documented (the route reads it raw, bounded)
_CSV_BODY = {
    "required": True,
    "content": {"text/csv": {"schema": {"type": "string", "example": "phone\n3055550142\n"}}},
}


def suppression_routes(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin/suppression",
        tags=["admin"],
        dependencies=[admin],
        responses=ADMIN_RESPONSES,
    )

    @router.get("")
    async def list_lists(caller: Caller = admin) -> list[dict[str, Any]]:
        """Every suppression list: its id, how many phones and emails, when it last grew."""
        return await suppression_views.suppression_lists(ports, token_principal(caller))

    @router.post("/{list_id}", openapi_extra={"requestBody": _CSV_BODY})
    async def upload(list_id: ListId, request: Request, caller: Caller = admin) -> dict[str, Any]:
        """Add a CSV's phones and emails (any column; a header line is skipped) to the list,
        created by its first upload. Each is hashed with the server's key at once: the list
        is never kept in clear. Campaigns name it in a ``suppression`` step."""
        raw = await read_bounded(request, MAX_CSV_BYTES)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Problem(400, "the CSV is not valid UTF-8") from None
        return await suppression_views.upload_list(ports, token_principal(caller), list_id, text)

    @router.delete("/{list_id}")
    async def drop(list_id: ListId, caller: Caller = admin) -> dict[str, Any]:
        """Drop the whole list."""
        return await suppression_views.remove_list(ports, token_principal(caller), list_id)

    return router
