"""The users page (admins only): create a user, set its role and its binding to a supplier or
buyer, disable or enable it, reset its password. A password made here is shown once, on the
page that answers the form. The work is ``api.user_views``', as the admin API's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from pingtree.api import user_views as views
from pingtree.flows.errors import InputError
from pingtree.principals import ROLES, Principal
from pingtree.web.site import PageError, Site

__all__ = ["user_pages"]

_Text = Annotated[str, Form(max_length=200)]
_Id = Annotated[str, Form(max_length=64)]


def user_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    async def page(
        request: Request, viewer: Principal, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        users = await views.user_list(ports, viewer)
        return site.render(
            request,
            "users.html",
            viewer=viewer,
            status=status,
            users=users,
            roles=ROLES,
            parties=views.party_choices(ports, viewer),
            **{"shown": None, "errors": [], **context},
        )

    @router.get("/ui/users")
    async def user_list(
        request: Request, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        return await page(request, viewer)

    @router.post("/ui/users")
    async def create_user(
        request: Request,
        username: _Text,
        role: Annotated[str, Form(max_length=32)],
        supplier_id: _Id = "",
        buyer_id: _Id = "",
        time_zone: Annotated[str, Form(max_length=64)] = "UTC",
        password: _Text = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> HTMLResponse:
        try:
            made = await views.create_user(
                ports,
                viewer,
                username=username,
                role=role,
                password=password or None,
                supplier_id=supplier_id or None,
                buyer_id=buyer_id or None,
                time_zone=time_zone.strip() or "UTC",
            )
        except InputError as error:
            return await page(request, viewer, status=422, errors=_lines(error))
        return await page(request, viewer, shown=made, done=f"User {made['username']} created.")

    @router.post("/ui/users/{user_id}/role")
    async def set_role(
        request: Request,
        user_id: str,
        role: Annotated[str, Form(max_length=32)],
        supplier_id: _Id = "",
        buyer_id: _Id = "",
        time_zone: Annotated[str, Form(max_length=64)] = "",
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> HTMLResponse:
        try:
            changed = await views.change_user(
                ports,
                viewer,
                user_id,
                role=role,
                supplier_id=supplier_id or None,
                buyer_id=buyer_id or None,
                time_zone=time_zone.strip() or None,
            )
        except InputError as error:
            return await page(request, viewer, status=422, errors=_lines(error))
        return await page(request, viewer, done=f"User {changed['username']} changed.")

    @router.post("/ui/users/{user_id}/disable")
    async def disable(
        request: Request, user_id: str, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> HTMLResponse:
        try:
            user = await views.set_disabled(ports, viewer, user_id, disabled=True)
        except InputError as error:
            raise PageError(422, "The user was not disabled.", _lines(error)) from None
        done = f"User {user['username']} disabled; its sessions ended."
        return await page(request, viewer, done=done)

    @router.post("/ui/users/{user_id}/enable")
    async def enable(
        request: Request, user_id: str, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> HTMLResponse:
        user = await views.set_disabled(ports, viewer, user_id, disabled=False)
        return await page(request, viewer, done=f"User {user['username']} enabled.")

    @router.post("/ui/users/{user_id}/password")
    async def reset_password(
        request: Request, user_id: str, viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> HTMLResponse:
        user = await views.reset_password(ports, viewer, user_id)
        done = f"A new password for {user['username']}; its sessions ended."
        return await page(request, viewer, shown=user, done=done)

    return router


def _lines(error: InputError) -> list[str]:
    return [f"{e.loc[-1]}: {e.msg}" for e in error.errors]
