"""The dashboard: the figures of today, the last 7 or the last 30 days, charts of money over
time and by supplier and buyer, and the latest traffic. The data comes from
``api.report_views`` and ``api.admin_views``, as the admin API's does."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from pingtree.api import admin_views, report_views
from pingtree.store.reports import Bucket, Period, period_bounds
from pingtree.store.users import SignedIn
from pingtree.web import charts
from pingtree.web.site import Site

__all__ = ["PERIOD_NAMES", "dashboard_pages"]

#: the period tabs, in order
PERIOD_NAMES: dict[Period, str] = {"today": "Today", "7d": "7 days", "30d": "30 days"}
_RECENT = 10


def dashboard_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui")
    async def dashboard(
        request: Request, period: Period = "today", viewer: SignedIn = Depends(site.signed_in)
    ) -> HTMLResponse:
        start, end = period_bounds(period, ports.clock.now())
        bucket: Bucket = "hour" if period == "today" else "day"
        points = await report_views.timeseries(ports, start, end, bucket)
        suppliers = await report_views.breakdown(ports, "supplier", start, end)
        buyers = await report_views.breakdown(ports, "buyer", start, end)
        return site.render(
            request,
            "dashboard.html",
            viewer=viewer,
            period=period,
            periods=PERIOD_NAMES,
            first_day=start.date(),
            last_day=(end - dt.timedelta(days=1)).date(),
            figures=await report_views.summary(ports, start, end),
            over_time=charts.money_over_time(points, bucket),
            by_supplier=charts.money_by(suppliers, "supplier"),
            by_buyer=charts.money_by(buyers, "buyer"),
            leads=await admin_views.lead_list(ports, _RECENT),
            pings=await admin_views.ping_list(ports, _RECENT),
        )

    return router
