"""The ASGI application: the seller API, the admin API, health checks."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from pingtree.api.auth import KeyChecker
from pingtree.api.docs import install_docs
from pingtree.api.problems import install_problem_handlers, refuse_nul
from pingtree.api.serving import APP_RESPONSES, Served, ServeWith, app_routes
from pingtree.bootstrap import start_runtime
from pingtree.clock import Clock
from pingtree.flows.ports import BidSource
from pingtree.settings import Settings

__all__ = ["create_app", "create_app_from_env"]

#: allocations between young collections (CPython's default is 700)
_YOUNG_COLLECTION_THRESHOLD = 20_000


def create_app(
    settings: Settings, clock: Clock | None = None, bids: BidSource | None = None
) -> FastAPI:
    """The app; its ports are built when it starts (the lifespan) and closed when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings, clock, bids)
        app.state.runtime = runtime
        app.state.served = Served(runtime, KeyChecker(runtime.ports, runtime.server_key))
        _settle_the_heap()
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="pingtree",
        summary="Real-time ping/post lead distribution",
        version="0.1.0",
        lifespan=lifespan,
        responses=APP_RESPONSES,
        dependencies=[Depends(refuse_nul)],
        # served from the installed package instead of a CDN (api.docs)
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_docs(app)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> Any:
        served: Served | None = getattr(app.state, "served", None)
        if served is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        # a worker whose writers are behind refuses sellers (503): out of rotation until
        # it caught up, so a load balancer sends the work elsewhere
        behind = [w.name for w in served.writers if w.behind]
        if behind:
            return JSONResponse({"status": "behind", "writers": behind}, status_code=503)
        version = served.runtime.ports.snapshots.current().version
        return {"status": "ready", "config_version": version}

    app.router.routes.extend(app_routes())
    app.add_middleware(ServeWith, served=lambda: getattr(app.state, "served", None))
    return app


def _settle_the_heap() -> None:
    """Keep the garbage collector off what start-up built (modules, the app, the snapshot):
    frozen, those objects are never scanned again, so a full collection during traffic
    walks only what traffic made, not the whole heap (a pause of tens of milliseconds in a
    ping otherwise). Young collections run less often too: a ping allocates thousands of
    short-lived objects that reference counting frees anyway. Collections are on from here
    (``pingtree serve`` turns them off while it starts)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_COLLECTION_THRESHOLD, 20, 20)
    gc.enable()


def create_app_from_env() -> FastAPI:
    """For ``uvicorn --factory`` and multi-worker serving: settings from the environment."""
    return create_app(Settings())
