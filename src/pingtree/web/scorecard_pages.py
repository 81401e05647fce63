"""The scorecards' pages (``api.scorecard_views``): a buyer's at ``/ui/buyers/{id}/scorecard``
and a supplier's at ``/ui/suppliers/{id}/scorecard`` for the staff, linked from their admin
pages; a party's own at ``/ui/my-scorecard`` for a buyer's or a supplier's user, linked from
its portal. Whole days of a time zone, picked like the reports': a ``period`` preset, or
``from`` and ``to`` (both included; a blank end is the last 7 days), ``tz`` (blank: the
user's own time zone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingtree.api import report_views, scorecard_views
from pingtree.domain.report_days import Period, local_midnight, period_bounds
from pingtree.flows.ports import Ports
from pingtree.principals import Principal, require_staff
from pingtree.web.site import PageError, Site

__all__ = ["ScorecardQuery", "scorecard_pages"]

_DEFAULT_DAYS = 7
#: the presets above the form, as the reports page has them
_PERIOD_NAMES = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "7 days",
    "30d": "30 days",
    "this_month": "This month",
    "last_month": "Last month",
}


class ScorecardQuery(BaseModel):
    """The period form: blank fields take their defaults."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, str_strip_whitespace=True)

    first_day: dt.date | None = Field(default=None, alias="from")
    last_day: dt.date | None = Field(default=None, alias="to")
    period: Period | None = None
    tz: str | None = Field(default=None, max_length=64)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


@dataclass(frozen=True)
class _Span:
    first_day: dt.date
    last_day: dt.date
    start: dt.datetime
    end: dt.datetime
    tz: str


def scorecard_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/buyers/{buyer_id}/scorecard")
    async def buyer_scorecard(
        request: Request,
        buyer_id: str,
        query: Annotated[ScorecardQuery, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        require_staff(viewer, "a buyer's scorecard here (its own is at /ui/my-scorecard)")
        span = _span(ports, query, viewer)
        card = await scorecard_views.buyer_scorecard(ports, viewer, buyer_id, span.start, span.end)
        return _page(site, request, viewer, "buyer", card, span, query)

    @router.get("/ui/suppliers/{supplier_id}/scorecard")
    async def supplier_scorecard(
        request: Request,
        supplier_id: str,
        query: Annotated[ScorecardQuery, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        require_staff(viewer, "a supplier's scorecard here (its own is at /ui/my-scorecard)")
        span = _span(ports, query, viewer)
        card = await scorecard_views.supplier_scorecard(
            ports, viewer, supplier_id, span.start, span.end
        )
        return _page(site, request, viewer, "supplier", card, span, query)

    @router.get("/ui/my-scorecard")
    async def own_scorecard(
        request: Request,
        query: Annotated[ScorecardQuery, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        kind, party_id = scorecard_views.own_party(viewer)
        span = _span(ports, query, viewer)
        if kind == "buyer":
            card = await scorecard_views.buyer_scorecard(
                ports, viewer, party_id, span.start, span.end
            )
        else:
            card = await scorecard_views.supplier_scorecard(
                ports, viewer, party_id, span.start, span.end
            )
        return _page(site, request, viewer, kind, card, span, query)

    return router


def _span(ports: Ports, query: ScorecardQuery, viewer: Principal) -> _Span:
    """The whole days asked, in the form's time zone or else the user's."""
    try:
        zone = report_views.report_zone(query.tz, viewer.time_zone or "UTC")
    except ValueError as error:
        raise PageError(400, "Some of the input is not valid.", [f"tz: {error}"]) from None
    if query.period is not None:
        start, end = period_bounds(query.period, ports.clock.now(), zone)
        last = (end - dt.timedelta(seconds=1)).date()
        return _Span(start.date(), last, start, end, zone.key)
    last_day = query.last_day or ports.clock.now().astimezone(zone).date()
    first_day = query.first_day or last_day - dt.timedelta(days=_DEFAULT_DAYS - 1)
    start = local_midnight(first_day, zone)
    end = local_midnight(last_day + dt.timedelta(days=1), zone)
    problem = "must not be before from" if last_day < first_day else None
    problem = problem or report_views.range_problem(start, end)
    if problem:
        raise PageError(400, "Some of the input is not valid.", [f"to: {problem}"])
    return _Span(first_day, last_day, start, end, zone.key)


def _page(
    site: Site,
    request: Request,
    viewer: Principal,
    kind: str,
    card: dict[str, Any],
    span: _Span,
    query: ScorecardQuery,
) -> HTMLResponse:
    return site.render(
        request,
        "scorecard.html",
        viewer=viewer,
        kind=kind,
        card=card,
        span=span,
        period=query.period,
        periods=_PERIOD_NAMES,
        own=not viewer.is_staff,
    )
