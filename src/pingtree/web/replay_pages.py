"""The replay's page (``api.replay_views``, the same view as the API route): at
``/ui/replay`` the staff paste a draft configuration, pick how far back, and see what it
would have done to the live pings: totals, campaigns, buyers and orders before and
after, the pings that change hands with why, and a ping's traces before and after."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from pingtree.api import replay_views
from pingtree.flows.errors import InputError
from pingtree.principals import Principal, require_staff
from pingtree.web.site import Site

__all__ = ["replay_pages"]

#: the draft a form may carry, like an applied configuration
_MAX_DRAFT_CHARS = 4 * 1024 * 1024


def replay_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/replay")
    async def replay_form(
        request: Request, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        require_staff(viewer, "replays")
        return _page(site, request, viewer, draft="", since="7d", campaign="")

    @router.post("/ui/replay")
    async def replay(
        request: Request,
        draft: str = Form(max_length=_MAX_DRAFT_CHARS),
        since: str = Form("7d", max_length=8),
        campaign: str = Form("", max_length=64),
        ping_id: str = Form("", max_length=64),
        viewer: Principal = Depends(site.signed_in_with_csrf),
    ) -> HTMLResponse:
        require_staff(viewer, "replays")
        try:
            report = await replay_views.replay_report(
                ports,
                viewer,
                draft,
                since,
                campaign_id=campaign or None,
                ping_id=ping_id or None,
            )
        except InputError as invalid:
            problems = [f"{'.'.join(str(p) for p in e.loc[1:])}: {e.msg}" for e in invalid.errors]
            return _page(
                site, request, viewer, draft, since, campaign, problems=problems, status=422
            )
        return _page(site, request, viewer, draft, since, campaign, report=report)

    return router


def _page(
    site: Site,
    request: Request,
    viewer: Principal,
    draft: str,
    since: str,
    campaign: str,
    *,
    report: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return site.render(
        request,
        "replay.html",
        viewer=viewer,
        status=status,
        draft=draft,
        since=since,
        campaign=campaign,
        report=report,
        problems=problems or [],
    )
