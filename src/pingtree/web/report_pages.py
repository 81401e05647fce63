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

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from pingtree.api import report_views
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.web.period_form import PERIOD_NAMES, PeriodQuery, Span, span_of
from pingtree.web.site import PageError, Site

__all__ = ["ReportQuery", "report_pages"]

#: the dimensions without pings and posts: buyers and orders only have the leads sent to them
_OUTBOUND = ("buyer", "order")


class ReportQuery(PeriodQuery):
    """The reports form: the period form's days, what to group and sort by."""

    #: a dimension or a lead's field (``report_views.dimensions``)
    by: str = Field(default="supplier", max_length=64)
    sort: str = report_views.DEFAULT_SORT


def report_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    def days(query: ReportQuery, viewer: Principal) -> Span:
        problem = report_views.sort_problem(query.sort)
        if problem:
            raise PageError(400, "Some of the input is not valid.", [f"sort: {problem}"])
        _check_by(ports, query)
        return span_of(ports, query, viewer)

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
            periods=PERIOD_NAMES,
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
