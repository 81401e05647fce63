"""The reports page: leads, acceptance, returns and the money gross and net of returns (from
the ledger) per supplier, campaign, buyer, order or vertical, or per value of a lead's
tracking field (``sub_id``, ``click_id``, ``utm_*``…) or report dimension, over whole days of
a time zone, with their total, sortable by any column, the same as CSV, and buyers'
response times. The data
comes from ``api.report_views``, as the admin API's does; the CSV is the API's own, served
here because a browser is signed in by cookie, not by admin token.

Both ends of the range are whole days of ``tz``, included: ``from=2026-11-17&to=2026-11-23``
is the API's ``[2026-11-17T00:00, 2026-11-24T00:00)`` in ``tz``. A blank end means the last 7
days; a ``period`` (today, yesterday, 7d, 30d, this_month, last_month) sets both. ``tz`` is an
IANA name; blank: the signed-in user's time zone where the user has one, else UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingtree.api import report_views
from pingtree.domain.report_days import Period, local_midnight, period_bounds
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.web.site import PageError, Site

__all__ = ["ReportQuery", "report_pages"]

#: the dimensions without pings and posts: buyers and orders only have the leads sent to them
_OUTBOUND = ("buyer", "order")
_DEFAULT_DAYS = 7
#: the presets above the form
_PERIOD_NAMES = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "7 days",
    "30d": "30 days",
    "this_month": "This month",
    "last_month": "Last month",
}


class ReportQuery(BaseModel):
    """The reports form: blank fields take their defaults."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, str_strip_whitespace=True)

    first_day: dt.date | None = Field(default=None, alias="from")
    last_day: dt.date | None = Field(default=None, alias="to")
    #: a dimension or a lead's field (``report_views.dimensions``)
    by: str = Field(default="supplier", max_length=64)
    period: Period | None = None
    tz: str | None = Field(default=None, max_length=64)
    sort: str = report_views.DEFAULT_SORT

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
    zone: ZoneInfo


def report_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    def days(query: ReportQuery, viewer: Principal) -> _Range:
        zone = _zone(query, viewer)
        _check_by(ports, query)
        if query.period is not None:
            start, end = period_bounds(query.period, ports.clock.now(), zone)
            first_day, last_day = start.date(), (end - dt.timedelta(seconds=1)).date()
            return _Range(first_day, last_day, start, end, zone)
        last_day = query.last_day or ports.clock.now().astimezone(zone).date()
        first_day = query.first_day or last_day - dt.timedelta(days=_DEFAULT_DAYS - 1)
        start = local_midnight(first_day, zone)
        end = local_midnight(last_day + dt.timedelta(days=1), zone)
        problem = "must not be before from" if last_day < first_day else None
        problem = problem or report_views.range_problem(start, end)
        if problem:
            raise PageError(400, "Some of the input is not valid.", [f"to: {problem}"])
        return _Range(first_day, last_day, start, end, zone)

    @router.get("/ui/reports")
    async def reports_page(
        request: Request,
        query: Annotated[ReportQuery, Query()],
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        span = days(query, viewer)
        params: dict[str, object] = {"from": span.first_day, "to": span.last_day, "by": query.by}
        if query.tz is not None:
            params["tz"] = span.zone.key
        if query.sort != report_views.DEFAULT_SORT:
            params["sort"] = query.sort
        rows = await report_views.breakdown(
            ports, viewer, query.by, span.start, span.end, sort=query.sort
        )
        return site.render(
            request,
            "reports.html",
            viewer=viewer,
            span=span,
            by=query.by,
            dimensions=report_views.dimensions(ports),
            inbound=query.by not in _OUTBOUND,
            rows=rows,
            total=await report_views.breakdown_total(ports, viewer, query.by, span.start, span.end),
            sort=query.sort,
            sort_links=_sort_links(request, query.sort),
            periods=_PERIOD_NAMES,
            period=query.period,
            tz=span.zone.key,
            buyers=await report_views.buyer_performance(ports, viewer, span.start, span.end),
            csv_url="/ui/reports.csv?" + urlencode(params),
        )

    @router.get("/ui/reports.csv")
    async def reports_csv(
        query: Annotated[ReportQuery, Query()], viewer: Principal = Depends(site.signed_in)
    ) -> Response:
        span = days(query, viewer)
        rows = await report_views.breakdown(
            ports, viewer, query.by, span.start, span.end, sort=query.sort
        )
        return report_views.breakdown_csv(rows, query.by, span.start)

    return router


def _zone(query: ReportQuery, viewer: Principal) -> ZoneInfo:
    """The report's time zone: the form's, else the user's own (where users have one)."""
    default = viewer.time_zone or "UTC"
    try:
        zone = report_views.report_zone(query.tz, default)
    except ValueError as error:
        raise PageError(400, "Some of the input is not valid.", [f"tz: {error}"]) from None
    problem = report_views.sort_problem(query.sort)
    if problem:
        raise PageError(400, "Some of the input is not valid.", [f"sort: {problem}"])
    return zone


def _check_by(ports: Ports, query: ReportQuery) -> None:
    problem = report_views.dimension_problem(ports, query.by)
    if problem:
        raise PageError(400, "Some of the input is not valid.", [f"by: {problem}"])


def _sort_links(request: Request, sort: str) -> dict[str, str]:
    """Each sortable column's link: highest first, or lowest first when it is so already
    (the key: A to Z first)."""
    links = {}
    for name in report_views.SORTABLE:
        first = name if name == "key" else f"-{name}"
        other = first.removeprefix("-") if first.startswith("-") else f"-{first}"
        links[name] = str(request.url.include_query_params(sort=other if sort == first else first))
    return links
