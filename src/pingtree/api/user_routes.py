"""The admin API's users: create, list, change role and binding, disable and enable, reset a
password. Admin tokens only; the views (``api.user_views``) are the UI's too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from pingtree.api import user_views as views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.scoping import token_principal
from pingtree.flows.ports import Ports

__all__ = ["users_router"]

UserId = Annotated[str, Path(max_length=36, pattern=r"^[0-9a-fA-F-]{1,36}$")]
Role = Literal["admin", "operator", "analyst", "supplier", "buyer"]
#: a username: printable, no spaces or colons (``api.user_views`` checks the same)
_USERNAME = r"^[^\s:\x00-\x1f\x7f]+$"


class UserAsked(BaseModel):
    """A new user. Without ``password`` one is made and shown this once."""

    username: str = Field(min_length=1, max_length=100, pattern=_USERNAME)
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=200)
    supplier_id: str | None = Field(
        default=None, max_length=64, description="a supplier of the configuration (supplier)"
    )
    buyer_id: str | None = Field(
        default=None, max_length=64, description="a buyer of the configuration (buyer)"
    )
    time_zone: str = Field(default="UTC", max_length=64, description="an IANA time zone")


class RoleAsked(BaseModel):
    """A user's role and binding: a ``supplier`` names its supplier, a ``buyer`` its buyer."""

    role: Role
    supplier_id: str | None = Field(default=None, max_length=64)
    buyer_id: str | None = Field(default=None, max_length=64)
    time_zone: str | None = Field(default=None, max_length=64, description="an IANA time zone")


def users_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin/users",
        tags=["admin"],
        dependencies=[admin],
        responses=ADMIN_RESPONSES,
    )

    @router.get("")
    async def list_users(caller: Caller = admin) -> list[dict[str, Any]]:
        """Every user: role, binding, time zone, enabled or not. Never a password."""
        return await views.user_list(ports, token_principal(caller))

    @router.post("", status_code=201)
    async def create_user(body: UserAsked, caller: Caller = admin) -> dict[str, Any]:
        """A new user, bound to a supplier or buyer of the live configuration when its role
        is ``supplier`` or ``buyer``. A made password is in ``password``, this once."""
        return await views.create_user(ports, token_principal(caller), **body.model_dump())

    @router.get("/{user_id}")
    async def get_user(user_id: UserId, caller: Caller = admin) -> dict[str, Any]:
        return await views.user_detail(ports, token_principal(caller), user_id)

    @router.put("/{user_id}/role")
    async def set_role(user_id: UserId, body: RoleAsked, caller: Caller = admin) -> dict[str, Any]:
        """A new role and binding; the user's sessions end."""
        return await views.change_user(ports, token_principal(caller), user_id, **body.model_dump())

    @router.post("/{user_id}/disable")
    async def disable_user(user_id: UserId, caller: Caller = admin) -> dict[str, Any]:
        """Disable the user: its sessions end now and it cannot sign in."""
        return await views.set_disabled(ports, token_principal(caller), user_id, disabled=True)

    @router.post("/{user_id}/enable")
    async def enable_user(user_id: UserId, caller: Caller = admin) -> dict[str, Any]:
        return await views.set_disabled(ports, token_principal(caller), user_id, disabled=False)

    @router.post("/{user_id}/password")
    async def reset_password(user_id: UserId, caller: Caller = admin) -> dict[str, Any]:
        """A new one-time password (``password``), shown this once; the user's sessions end."""
        return await views.reset_password(ports, token_principal(caller), user_id)

    return router
