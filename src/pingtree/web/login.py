"""Signing in and out.

The session cookie carries a random token; the server keeps its hash and the session's CSRF
token (``store.users``). The sign-in form itself is guarded against login CSRF by a
double-submit token: a random value set as a cookie and repeated in the form, which another
site can neither read nor set.

Signing in is throttled per account and per client address (``flows.sign_in``): a refused
try is answered 429 with ``Retry-After``, its password unchecked. The client address is
the one the server reports: uvicorn takes it from ``X-Forwarded-For`` only when the
connection comes from a trusted proxy (``FORWARDED_ALLOW_IPS``, by default 127.0.0.1).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from pingtree.domain.throttle import SignInOutcome
from pingtree.flows import sign_in as signing
from pingtree.flows.sign_in import SESSION_SECONDS, SignInResult
from pingtree.principals import Principal
from pingtree.web.site import LOGIN_PATH, SESSION_COOKIE, Site, local_path, same_token

__all__ = ["login_pages"]

_LOGIN_COOKIE = "pingtree_login_csrf"
_LOGIN_COOKIE_SECONDS = 3600
_WRONG = "Wrong username or password."
_EXPIRED = "The sign-in form expired: please sign in again."
#: the longest address stored (an IPv6 address with an embedded IPv4 one)
_ADDRESS_LENGTH = 45


def login_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get(LOGIN_PATH)
    async def login_form(
        request: Request, next_page: Annotated[str, Query(alias="next", max_length=2000)] = "/ui"
    ) -> Response:
        if await site.current_viewer(request) is not None:
            return RedirectResponse(local_path(next_page), status_code=303)
        return _form(site, request, next_page)

    @router.post(LOGIN_PATH)
    async def sign_in(
        request: Request,
        username: Annotated[str, Form(max_length=100)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        next_page: Annotated[str, Form(alias="next", max_length=2000)] = "/ui",
    ) -> Response:
        if not same_token(csrf_token, request.cookies.get(_LOGIN_COOKIE, "")):
            return _form(site, request, next_page, message=_EXPIRED, status=403)
        result = await signing.sign_in(site.ports, username, password, _address(request))
        if result.retry_after is not None:
            refused = _form(
                site,
                request,
                next_page,
                message=_wait_message(result),
                status=429,
                username=username,
            )
            refused.headers["Retry-After"] = str(result.retry_after)
            return refused
        if result.token is None:
            return _form(site, request, next_page, message=_WRONG, status=401, username=username)
        response = RedirectResponse(local_path(next_page), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            result.token,
            max_age=SESSION_SECONDS,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
        response.delete_cookie(_LOGIN_COOKIE, path=LOGIN_PATH)
        return response

    @router.post("/ui/logout")
    async def sign_out(
        request: Request, _viewer: Principal = Depends(site.signed_in_with_csrf)
    ) -> Response:
        await signing.sign_out(site.ports, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router


def _address(request: Request) -> str:
    """The client's address as the server reports it; "" when it has none (a Unix socket)."""
    return request.client.host[:_ADDRESS_LENGTH] if request.client else ""


def _wait_message(result: SignInResult) -> str:
    seconds = result.retry_after or 0
    wait = (
        f"{seconds} second{'s' if seconds != 1 else ''}"
        if seconds < 120
        else f"{(seconds + 59) // 60} minutes"
    )
    if result.outcome is SignInOutcome.LOCKED:
        return f"Too many failed sign-ins: this account is locked for {wait}."
    return f"Too many failed sign-ins: wait {wait} before trying again."


def _form(
    site: Site,
    request: Request,
    next_page: str,
    *,
    message: str = "",
    status: int = 200,
    username: str = "",
) -> Response:
    # one token per browser, kept while it is valid, so two open sign-in tabs both work
    token = request.cookies.get(_LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = site.render(
        request,
        "login.html",
        viewer=None,
        status=status,
        login_token=token,
        next_page=local_path(next_page),
        message=message,
        username=username,
    )
    response.set_cookie(
        _LOGIN_COOKIE,
        token,
        max_age=_LOGIN_COOKIE_SECONDS,
        path=LOGIN_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
