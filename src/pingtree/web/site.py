"""What every page of the admin UI shares: the templates, who is signed in, the CSRF check,
and error pages instead of JSON problems.

A page router comes from :meth:`Site.router`; its routes take the person signed in, the
session's :class:`~pingtree.principals.Principal` which every view function takes, as
``viewer: Principal = Depends(site.signed_in)`` (GET) or ``Depends(site.signed_in_with_csrf)``
(POST: the form's ``csrf_token`` must be the session's). A default value, not ``Annotated``:
postponed annotations cannot name ``site``, a local. Raising :class:`PageError` answers with
an error page; a missing ping or lead (``NotFound``), a section the principal may not
open (``Forbidden``, 403), a thing whose state refuses the request (``Conflict``, 409) and
invalid input are pages too.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment
from starlette.datastructures import URL

from pingtree.api.user_views import session_principal
from pingtree.flows.errors import Conflict, NotFound
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal

# the name the pages have used for the principal of a session
Principal = Principal

__all__ = [
    "LOGIN_PATH",
    "SESSION_COOKIE",
    "PageError",
    "Site",
    "local_path",
    "same_token",
]

SESSION_COOKIE = "pingtree_session"
LOGIN_PATH = "/ui/login"

#: the pages' own CSS and (inline) SVG only; no frames, forms post back here
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # pages may show PII: never kept by a browser or proxy cache
    "Cache-Control": "no-store",
}


class PageError(Exception):
    """An error page to answer with: a status, a message and optional details."""

    def __init__(self, status: int, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details)


class _SignInRequired(Exception):
    def __init__(self, url: URL) -> None:
        super().__init__("sign in required")
        self.url = url


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison of two tokens; an empty ``expected`` never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def local_path(target: str) -> str:
    """``target`` if it is a page of the UI, else the UI's home: never an open redirect."""
    if target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui"


class Site:
    """The templates and the ports, and the dependencies that tell who is signed in."""

    def __init__(self, ports: Ports, templates: Environment) -> None:
        self.ports = ports
        self.templates = templates
        self.signed_in = self._signed_in_dependency()
        self.signed_in_with_csrf = self._csrf_dependency(self.signed_in)
        self._route_class = _page_route_class(self)

    def router(self) -> APIRouter:
        """A router for pages: kept out of the OpenAPI document, errors answered as pages."""
        return APIRouter(route_class=self._route_class, include_in_schema=False)

    def render(
        self,
        request: Request,
        template: str,
        *,
        viewer: Principal | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            request=request, path=request.url.path, viewer=viewer, **context
        )
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)

    def error_page(
        self, request: Request, status: int, message: str, details: Sequence[str] = ()
    ) -> HTMLResponse:
        viewer: Principal | None = getattr(request.state, "viewer", None)
        return self.render(
            request,
            "error.html",
            viewer=viewer,
            status=status,
            message=message,
            details=details,
        )

    async def current_viewer(self, request: Request) -> Principal | None:
        """Who the session cookie belongs to, if it names a live session."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        return await session_principal(self.ports, token)

    def _signed_in_dependency(self) -> Callable[[Request], Awaitable[Principal]]:
        async def signed_in(request: Request) -> Principal:
            viewer = await self.current_viewer(request)
            if viewer is None:
                raise _SignInRequired(request.url)
            request.state.viewer = viewer
            return viewer

        return signed_in

    @staticmethod
    def _csrf_dependency(
        signed_in: Callable[[Request], Awaitable[Principal]],
    ) -> Callable[..., Awaitable[Principal]]:
        async def signed_in_with_csrf(
            csrf_token: Annotated[str, Form(max_length=200)] = "",
            viewer: Principal = Depends(signed_in),
        ) -> Principal:
            if not same_token(csrf_token, viewer.csrf_token):
                raise PageError(403, "This form is missing its security token: reload the page.")
            return viewer

        return signed_in_with_csrf


def _page_route_class(site: Site) -> type[APIRoute]:
    class PageRoute(APIRoute):
        """A route whose failures are pages: sign-in redirects, 4xx pages, never JSON."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def page(request: Request) -> Response:
                try:
                    return await handler(request)
                except _SignInRequired as wanted:
                    target = URL(LOGIN_PATH).include_query_params(
                        next=local_path(_path_and_query(wanted.url))
                    )
                    return RedirectResponse(str(target), status_code=303)
                except RequestValidationError as invalid:
                    return site.error_page(
                        request, 400, "Some of the input is not valid.", _readable(invalid)
                    )
                except NotFound as missing:
                    return site.error_page(request, 404, str(missing).capitalize() + ".")
                except PageError as error:
                    return site.error_page(request, error.status, error.message, error.details)
                except Forbidden as refused:
                    return site.error_page(request, 403, str(refused))
                except Conflict as conflict:
                    return site.error_page(request, 409, f"Not done: {conflict}.")

            return page

    return PageRoute


def _path_and_query(url: URL) -> str:
    return f"{url.path}?{url.query}" if url.query else url.path


def _readable(invalid: RequestValidationError) -> list[str]:
    lines = []
    for error in invalid.errors():
        where = ".".join(str(part) for part in error.get("loc", ())[1:])
        lines.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return lines
