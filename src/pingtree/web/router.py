"""The admin UI, mounted in the API's app under ``/ui``: server-rendered pages over the same
views the admin API serves (``api.admin_views``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from pingtree.api.auth import KeyChecker
from pingtree.flows.ports import Ports
from pingtree.web.account_pages import account_pages
from pingtree.web.buyer_pages import buyer_pages
from pingtree.web.config_pages import config_pages
from pingtree.web.crm_pages import crm_pages
from pingtree.web.dashboard import dashboard_pages
from pingtree.web.disposition_pages import disposition_pages
from pingtree.web.erasure_pages import erasure_pages
from pingtree.web.forms import form_pages
from pingtree.web.instructions_pages import instructions_pages
from pingtree.web.invoice_pages import invoice_pages
from pingtree.web.key_pages import key_pages
from pingtree.web.login import login_pages
from pingtree.web.party_key_pages import party_key_pages
from pingtree.web.rendering import page_templates
from pingtree.web.replay_pages import replay_pages
from pingtree.web.report_pages import report_pages
from pingtree.web.return_pages import return_pages
from pingtree.web.scorecard_pages import scorecard_pages
from pingtree.web.sign_in_pages import sign_in_pages
from pingtree.web.site import Site
from pingtree.web.supplier_pages import supplier_pages
from pingtree.web.suppression_pages import suppression_pages
from pingtree.web.traffic import traffic_pages
from pingtree.web.user_pages import user_pages

__all__ = ["web_router"]

_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def web_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    site = Site(ports, page_templates())
    router = site.router()
    router.include_router(login_pages(site))
    router.include_router(dashboard_pages(site))
    router.include_router(report_pages(site))
    router.include_router(traffic_pages(site))
    router.include_router(config_pages(site))
    router.include_router(crm_pages(site))
    router.include_router(scorecard_pages(site))
    router.include_router(replay_pages(site))
    router.include_router(instructions_pages(site))
    router.include_router(erasure_pages(site))
    router.include_router(suppression_pages(site))
    router.include_router(key_pages(site, keys))
    router.include_router(party_key_pages(site, keys))
    router.include_router(disposition_pages(site))
    router.include_router(supplier_pages(site))
    router.include_router(sign_in_pages(site))
    router.include_router(user_pages(site))
    router.include_router(buyer_pages(site))
    router.include_router(invoice_pages(site))
    router.include_router(return_pages(site))
    router.include_router(account_pages(site))
    router.include_router(form_pages(ports))  # public: the hosted lead-capture forms
    router.include_router(_static_files())

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=307)

    return router


def _static_files() -> APIRouter:
    """Our own CSS and JS, read once; nothing else is served from the package."""
    folder = files("pingtree.web") / "static"
    assets = {
        entry.name: (entry.read_bytes(), _STATIC_TYPES[Path(entry.name).suffix])
        for entry in folder.iterdir()
        if Path(entry.name).suffix in _STATIC_TYPES
    }
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/static/{name}")
    async def static_file(name: str) -> Response:
        if name not in assets:
            return PlainTextResponse("not found", status_code=404)
        body, media_type = assets[name]
        return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=3600"})

    return router
