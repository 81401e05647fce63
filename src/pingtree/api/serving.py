"""The routes of the app, built once per process, and the runtime serving each request.

FastAPI analyses a route's signature when the route is added, about 3 ms of CPU a route:
for pingtree's two hundred routes a second of CPU, paid again by every ``include_router``.
So :func:`app_routes` builds them once per process and every app in it shares them (a
server has one app; the tests start hundreds). What the routes close over (the ports, the
key checker, the metrics, the writers, the settings) are stand-ins: each attribute read
finds the runtime of the app serving the current request, which that app's middleware
(:class:`ServeWith`) sets for the request in a context variable. A stand-in read outside
a request raises at once, naming the attribute.

The UI's pages (``/ui``, the hosted forms' ``/f/``, ``/``) are built at the first request for
one of their paths (:class:`LazyRoutes`, where their router was included): their modules and
routes are half a second of the three seconds of CPU a server takes to start, which a
server that only sells, or a test's server killed before anyone opens a page, never needs.
They are kept out of the OpenAPI document either way, so the document is the same.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast, overload

from fastapi import APIRouter, Depends
from fastapi.routing import iter_route_contexts
from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from pingtree.api.admin import admin_router
from pingtree.api.auth import KeyChecker
from pingtree.api.config_entities import config_entities_router
from pingtree.api.crm import crm_router
from pingtree.api.deliveries import deliveries_router
from pingtree.api.disposition_routes import disposition_routes
from pingtree.api.instructions import instructions_router
from pingtree.api.invoices import invoices_router, party_invoices_router
from pingtree.api.metrics import metrics_router
from pingtree.api.money_routes import money_router
from pingtree.api.party_admin import party_admin_router
from pingtree.api.party_api import party_api_router
from pingtree.api.problems import refuse_nul
from pingtree.api.replay_routes import replay_router
from pingtree.api.reports import reports_router
from pingtree.api.scorecards import scorecards_router
from pingtree.api.seller import Backlogged, seller_router
from pingtree.api.suppression_routes import suppression_routes
from pingtree.api.user_routes import users_router
from pingtree.bootstrap import Runtime
from pingtree.flows.ports import Ports
from pingtree.metrics import Metrics, Sampler
from pingtree.settings import Settings

__all__ = [
    "APP_RESPONSES",
    "UI_PAGES",
    "UI_TREES",
    "LazyRoutes",
    "ServeWith",
    "Served",
    "app_routes",
    "every_route",
    "serving",
]

#: every path of the UI's pages (``web.router``) is one of these, or under one of the trees
UI_PAGES = ("/",)
UI_TREES = ("/ui", "/f")

#: what any route may answer besides its own outcomes (malformed JSON)
APP_RESPONSES: dict[int | str, dict[str, Any]] = {400: {"description": "malformed request"}}


@dataclass(frozen=True)
class Served:
    """What a request's routes work with: the app's runtime and its key checker."""

    runtime: Runtime
    keys: KeyChecker

    @property
    def writers(self) -> tuple[Backlogged, ...]:
        """The background writers that refuse sellers while they are behind."""
        return (self.runtime.ports.pings, self.runtime.attempts)


_serving: ContextVar[Served] = ContextVar("pingtree_serving")


def serving() -> Served:
    """What serves the current request."""
    try:
        return _serving.get()
    except LookupError:
        raise RuntimeError("no pingtree app serves this context (not inside a request)") from None


class ServeWith:
    """ASGI middleware: each request (and what it starts) runs with its app's runtime as
    :func:`serving`'s answer; before the app started, the request runs without one."""

    def __init__(self, app: ASGIApp, served: Callable[[], Served | None]) -> None:
        self._app = app
        self._served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        served = self._served() if scope["type"] == "http" else None
        if served is None:
            await self._app(scope, receive, send)
            return
        token = _serving.set(served)
        try:
            await self._app(scope, receive, send)
        finally:
            _serving.reset(token)


class _StandIn:
    """Reads its attributes from the part of :func:`serving`'s answer that ``part`` picks."""

    __slots__ = ("_part",)

    def __init__(self, part: Callable[[Served], object]) -> None:
        self._part = part

    def __getattr__(self, name: str) -> Any:
        return getattr(self._part(serving()), name)


class _Writers(Sequence[Backlogged]):
    """The serving app's writers."""

    @overload
    def __getitem__(self, index: int) -> Backlogged: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Backlogged]: ...
    def __getitem__(self, index: int | slice) -> Backlogged | Sequence[Backlogged]:
        return serving().writers[index]

    def __len__(self) -> int:
        return len(serving().writers)


@functools.cache
def app_routes() -> tuple[BaseRoute, ...]:
    """Every route of the seller, party and admin APIs and of the UI, built once (the UI's
    at its first request)."""
    ports = cast(Ports, _StandIn(lambda served: served.runtime.ports))
    keys = cast(KeyChecker, _StandIn(lambda served: served.keys))
    metrics = cast(Metrics, _StandIn(lambda served: served.runtime.metrics))
    sampler = cast(Sampler, _StandIn(lambda served: served.runtime.sampler))
    settings = cast(Settings, _StandIn(lambda served: served.runtime.settings))

    def included(*routers: APIRouter) -> list[BaseRoute]:
        # the app's own dependencies and responses, as FastAPI's include would give them
        every = APIRouter(dependencies=[Depends(refuse_nul)], responses=APP_RESPONSES)
        for router in routers:
            every.include_router(router)
        return list(every.routes)

    def ui() -> list[BaseRoute]:
        from pingtree.web.router import web_router

        return included(web_router(ports, keys))

    return (
        *included(
            seller_router(ports, keys, metrics, _Writers()),
            instructions_router(ports, keys),
            metrics_router(metrics, sampler, keys, settings),
            admin_router(ports, keys),
            config_entities_router(ports, keys),
            crm_router(ports, keys),
            deliveries_router(ports, keys),
            users_router(ports, keys),
        ),
        # where the UI's router was included: a path it and a later router both matched
        # would still be the UI's
        LazyRoutes(ui, pages=UI_PAGES, trees=UI_TREES),
        *included(
            reports_router(ports, keys),
            scorecards_router(ports, keys),
            party_admin_router(ports, keys),
            party_api_router(ports, keys),
            disposition_routes(ports, keys),
            suppression_routes(ports, keys),
            invoices_router(ports, keys),
            party_invoices_router(ports, keys),
            money_router(ports, keys),
            replay_router(ports, keys),
        ),
    )


#: the scope key naming the route of a :class:`LazyRoutes` that matched the request
_MATCHED = "pingtree.lazy_route"


class LazyRoutes(BaseRoute):
    """Routes built by ``build`` when a request first asks for one of their paths (one of
    ``pages``, or a tree of ``trees`` or a path under it) or a URL is first made for one of
    their names: until then their modules are not even imported. Every route built must
    keep to those paths (else the build raises, naming the route): a request for another
    path never looks at them."""

    def __init__(
        self,
        build: Callable[[], Sequence[BaseRoute]],
        *,
        pages: Iterable[str] = (),
        trees: Iterable[str] = (),
    ) -> None:
        self.paths = frozenset((*pages, *trees))
        self._under = tuple(f"{tree}/" for tree in trees)
        self._build = build
        self._built: tuple[BaseRoute, ...] | None = None
        self._lock = threading.Lock()

    @property
    def routes(self) -> tuple[BaseRoute, ...]:
        """The routes, built now if they were not yet."""
        if self._built is None:
            with self._lock:
                if self._built is None:
                    built = tuple(self._build())
                    for path in _paths(built):
                        if path is None or not self._covers(path):
                            raise RuntimeError(
                                f"the route {path!r} is outside its lazy group's paths "
                                f"{sorted(self.paths)}: add its path to them"
                            )
                    self._built = built
        return self._built

    def _covers(self, path: str) -> bool:
        return path in self.paths or path.startswith(self._under)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not self._covers(get_route_path(scope)):
            return Match.NONE, {}
        partial: Scope | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                return Match.FULL, {**child_scope, _MATCHED: route}
            if match == Match.PARTIAL and partial is None:
                partial = {**child_scope, _MATCHED: route}
        if partial is not None:
            return Match.PARTIAL, partial
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope.pop(_MATCHED)
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def every_route(routes: Iterable[BaseRoute]) -> list[BaseRoute]:
    """``routes`` with each :class:`LazyRoutes` replaced by its routes (built now): what a
    walk over every route of an app (``app.routes``) must look at."""
    found: list[BaseRoute] = []
    for route in routes:
        found.extend(every_route(route.routes) if isinstance(route, LazyRoutes) else [route])
    return found


def _paths(routes: Iterable[BaseRoute]) -> Iterable[str | None]:
    """The path of each route in ``routes``, with the prefixes of the routers included."""
    for context in iter_route_contexts(list(routes)):
        yield context.path
