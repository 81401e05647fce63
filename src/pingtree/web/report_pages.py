"""The reports page: revenue, cost, profit, leads and acceptance per supplier, campaign, buyer,
order or vertical over whole UTC days, the same as CSV, and buyers' response times. The data
comes from ``api.report_views``, as the admin API's does; the CSV is the API's own, served
here because a browser is signed in by cookie, not by admin token.

Both ends of the range are whole UTC days, included: ``from=2026-11-17&to=2026-11-23`` is the
API's ``[2026-11-17T00:00Z, 2026-11-24T00:00Z)``. A blank end means the last 7 days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingtree.api import report_views
from pingtree.store.reports import DIMENSIONS, Dimension
from pingtree.store.users import SignedIn
from pingtree.web.site import PageError, Site

__all__ = ["ReportQuery", "report_pages"]

#: the dimensions with pings and posts; buyers and orders only have the leads sent to them
_INBOUND = ("supplier", "campaign", "vertical")
_DEFAULT_DAYS = 7


class ReportQuery(BaseModel):
    """The reports form: blank fields take their defaults."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, str_strip_whitespace=True)

    first_day: dt.date | None = Field(default=None, alias="from")
    last_day: dt.date | None = Field(default=None, alias="to")
    by: Dimension = "supplier"

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


@dataclass(frozen=True)
class _Range:
    first_day: dt.date
    last_day: dt.date
    start: dt.datetime
    end: dt.datetime


def report_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    def days(query: ReportQuery) -> _Range:
        last_day = query.last_day or ports.clock.now().astimezone(dt.UTC).date()
        first_day = query.first_day or last_day - dt.timedelta(days=_DEFAULT_DAYS - 1)
        start, end = _midnight(first_day), _midnight(last_day + dt.timedelta(days=1))
        problem = "must not be before from" if last_day < first_day else None
        problem = problem or report_views.range_problem(start, end)
        if problem:
            raise PageError(400, "Some of the input is not valid.", [f"to: {problem}"])
        return _Range(first_day=first_day, last_day=last_day, start=start, end=end)

    @router.get("/ui/reports")
    async def reports_page(
        request: Request,
        query: Annotated[ReportQuery, Query()],
        viewer: SignedIn = Depends(site.signed_in),
    ) -> HTMLResponse:
        span = days(query)
        params = {"from": span.first_day, "to": span.last_day, "by": query.by}
        return site.render(
            request,
            "reports.html",
            viewer=viewer,
            span=span,
            by=query.by,
            dimensions=DIMENSIONS,
            inbound=query.by in _INBOUND,
            rows=await report_views.breakdown(ports, query.by, span.start, span.end),
            buyers=await report_views.buyer_performance(ports, span.start, span.end),
            csv_url="/ui/reports.csv?" + urlencode(params),
        )

    @router.get("/ui/reports.csv")
    async def reports_csv(
        query: Annotated[ReportQuery, Query()], viewer: SignedIn = Depends(site.signed_in)
    ) -> Response:
        span = days(query)
        rows = await report_views.breakdown(ports, query.by, span.start, span.end)
        return report_views.breakdown_csv(rows, query.by, span.start)

    return router


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)
