"""A campaign's posting instructions in the admin UI: a printable page and its Markdown
download, both from the same model (``api.instructions_views``). URLs in them are the
server's as this request reached it. PDF: the browser's print dialog ("Save as PDF");
the page's print styles drop the navigation and keep tables and examples whole."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from pingtree.api.instructions_views import campaign_instructions, campaign_instructions_markdown
from pingtree.principals import Principal
from pingtree.web.site import Site

__all__ = ["instructions_pages"]

_STRONG = re.compile(r"\*\*([^*]+)\*\*")
_EMPHASIS = re.compile(r"\*([^*]+)\*")


def instructions_pages(site: Site) -> APIRouter:
    router = site.router()

    @router.get("/ui/campaigns/{campaign_id}/instructions")
    async def instructions_page(
        request: Request, campaign_id: str, viewer: Principal = Depends(site.signed_in)
    ) -> HTMLResponse:
        instructions = campaign_instructions(site.ports, viewer, campaign_id, _base_url(request))
        return site.render(
            request,
            "instructions.html",
            viewer=viewer,
            ins=instructions,
            inline=inline,
        )

    @router.get("/ui/campaigns/{campaign_id}/instructions.md")
    async def instructions_markdown(
        request: Request, campaign_id: str, viewer: Principal = Depends(site.signed_in)
    ) -> Response:
        text = campaign_instructions_markdown(site.ports, viewer, campaign_id, _base_url(request))
        filename = f"posting-instructions-{campaign_id}.md"
        return Response(
            text,
            media_type="text/markdown; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return router


def inline(text: str) -> Markup:
    """A short Markdown text as HTML, everything escaped: `code` spans (taken as they are),
    and **strong** and *emphasis* outside them."""
    html = []
    for index, part in enumerate(text.split("`")):
        if index % 2:
            html.append(f"<code>{escape(part)}</code>")
        else:
            part = _STRONG.sub(r"<strong>\1</strong>", str(escape(part)))
            html.append(_EMPHASIS.sub(r"<em>\1</em>", part))
    return Markup("".join(html))


def _base_url(request: Request) -> str:
    """Scheme, host and port the request came to (behind a proxy, what uvicorn's
    ``--proxy-headers`` made of ``X-Forwarded-*``)."""
    return str(request.base_url).rstrip("/")
