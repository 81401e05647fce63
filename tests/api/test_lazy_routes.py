"""A cheaper server start. The UI's routes are built at their first request
(``api.serving.LazyRoutes``): a server that only sells never imports them, and the app
serves the same routes, in the same order, with the same OpenAPI document, as when they
were built at start-up. The garbage collector, off while ``pingtree serve`` starts, is on
once the app has started."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, NoMatchFound

from pingtree.api.app import create_app
from pingtree.api.serving import UI_PAGES, UI_TREES, LazyRoutes, app_routes, every_route
from tests.api.conftest import market_settings
from tests.support.server import serve_app


def _pages() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/pages/{name}")
    async def page(name: str, request: Request) -> dict[str, str]:
        return {"page": name, "self": str(request.url_for("page", name=name))}

    @router.get("/")
    async def root() -> dict[str, str]:
        return {"page": "root"}

    return router


class Counted:
    """A build of :func:`_pages` that counts how often it ran."""

    def __init__(self, router: APIRouter | None = None) -> None:
        self.builds = 0
        self.router = router

    def __call__(self) -> list[BaseRoute]:
        self.builds += 1
        outer = APIRouter()
        outer.include_router(self.router or _pages())
        return list(outer.routes)


def _app(lazy: LazyRoutes) -> FastAPI:
    app = FastAPI()

    @app.get("/api/thing")
    async def thing() -> dict[str, str]:
        return {"thing": "yes"}

    app.router.routes.append(lazy)
    return app


def test_the_routes_are_built_at_the_first_request_for_their_paths_only() -> None:
    build = Counted()
    lazy = LazyRoutes(build, pages=["/"], trees=["/ui"])
    with serve_app(_app(lazy)) as url, httpx.Client(base_url=url, timeout=30) as http:
        # requests elsewhere, a near miss and an unknown path, never build them
        assert http.get("/api/thing").json() == {"thing": "yes"}
        assert http.get("/uix").status_code == 404
        assert http.get("/nowhere").status_code == 404
        assert build.builds == 0
        # the first request under /ui builds them, once; later ones reuse them
        first = http.get("/ui/pages/a")
        assert first.json() == {"page": "a", "self": f"{url}/ui/pages/a"}
        assert http.get("/").json() == {"page": "root"}
        assert http.get("/ui/pages/b").json()["page"] == "b"
        # a path of theirs with a method they do not take: 405, as when built eagerly
        refused = http.post("/ui/pages/a")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET"
        assert http.get("/ui/nothing").status_code == 404
        assert build.builds == 1


def test_a_url_made_for_one_of_their_names_builds_them() -> None:
    build = Counted()
    lazy = LazyRoutes(build, trees=["/ui"], pages=["/"])
    assert str(lazy.url_path_for("page", name="x")) == "/ui/pages/x"
    assert build.builds == 1
    with pytest.raises(NoMatchFound):
        lazy.url_path_for("no_such_route")


def test_a_route_outside_their_paths_is_refused_at_the_build_by_its_path() -> None:
    stray = _pages()

    @stray.get("/elsewhere")
    async def elsewhere() -> None:
        return None

    lazy = LazyRoutes(Counted(stray), pages=["/"], trees=["/ui"])
    with pytest.raises(RuntimeError, match="'/elsewhere' is outside"):
        _ = lazy.routes


def test_the_ui_keeps_to_its_paths_and_is_served_where_it_was_included() -> None:
    (lazy,) = [route for route in app_routes() if isinstance(route, LazyRoutes)]
    assert lazy.paths == {*UI_PAGES, *UI_TREES}
    # built here: every page of the UI is under its paths (else this raises, naming it)
    ui = [context.path for context in iter_route_contexts(list(lazy.routes))]
    assert {"/", "/ui/login", "/f/{form_id}"} <= set(ui)
    # the UI's router is where it was included: after the users' routes, before reports
    routes = list(app_routes())
    at = routes.index(lazy)
    before = {c.path for c in iter_route_contexts(routes[:at])}
    after = {c.path for c in iter_route_contexts(routes[at + 1 :])}
    assert "/api/v1/admin/users" in before
    assert any(str(path).startswith("/api/v1/admin/reports") for path in after)
    # a walk over every route sees the UI's among them
    walked = [c.path for c in iter_route_contexts(every_route(routes))]
    assert set(ui) <= set(walked)
    assert set(walked) == set(ui) | before | after


def test_the_app_serves_its_pages_and_documents_no_page(tmp_path: Path) -> None:
    app = create_app(market_settings(tmp_path))
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        login = http.get("/ui/login")
        assert login.status_code == 200
        assert "<form" in login.text
        assert http.get("/", follow_redirects=False).headers["location"] == "/ui"
        document = http.get("/openapi.json").json()
    assert not [
        path for path in document["paths"] if path == "/" or path.startswith(("/ui", "/f/"))
    ]
    assert "/api/v1/ping" in document["paths"]


def test_the_apps_start_turns_collections_on_again(tmp_path: Path) -> None:
    """``pingtree serve`` starts with the garbage collector off; the app's start collects
    once, freezes what it built, and turns it on again, for good."""
    gc.disable()
    try:
        with serve_app(create_app(market_settings(tmp_path))) as url:
            assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
            assert gc.isenabled()
    finally:
        gc.enable()
