"""The dashboard: the figures of today, the last 7 or the last 30 days, charts of money over
time and by supplier and buyer, and the latest traffic. The data comes from
``api.report_views`` and ``api.admin_views``, as the admin API's does."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from pingtree.api import admin_views, report_views
from pingtree.api.report_terms import Bucket, Period, period_bounds
from pingtree.api.scoping import may_open
from pingtree.principals import Principal
from pingtree.web import charts
from pingtree.web.site import Site

__all__ = ["PERIOD_NAMES", "dashboard_pages"]

#: the period tabs, in order
PERIOD_NAMES: dict[Period, str] = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "7 days",
    "30d": "30 days",
    "this_month": "This month",
    "last_month": "Last month",
}
_RECENT = 10


def dashboard_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui")
    async def dashboard(
        request: Request, period: Period = "today", viewer: Principal = Depends(site.signed_in)
    ) -> Response:
        if not may_open(viewer, "reports"):
            # a supplier's or buyer's user has no marketplace figures: its own portal instead
            homes = {"buyer": "/ui/my-orders", "supplier": "/ui/my-campaigns"}
            home = homes.get(viewer.role, "/ui/leads")
            return RedirectResponse(home, status_code=303)
        # days of the user's own time zone where users have one, else UTC
        try:
            zone = report_views.report_zone(None, viewer.time_zone or "UTC")
        except ValueError:  # a zone no longer known to this machine's tz database
            zone = report_views.report_zone("UTC")
        start, end = period_bounds(period, ports.clock.now(), zone)
        bucket: Bucket = "hour" if period in ("today", "yesterday") else "day"
        points = await report_views.timeseries(ports, viewer, start, end, bucket, zone=zone)
        suppliers = await report_views.breakdown(ports, viewer, "supplier", start, end)
        buyers = await report_views.breakdown(ports, viewer, "buyer", start, end)
        return site.render(
            request,
            "dashboard.html",
            viewer=viewer,
            period=period,
            periods=PERIOD_NAMES,
            first_day=start.date(),
            last_day=(end - dt.timedelta(seconds=1)).date(),
            tz=zone.key,
            figures=await report_views.summary(ports, viewer, start, end),
            over_time=charts.money_over_time(points, bucket),
            by_supplier=charts.money_by(suppliers, "supplier"),
            by_buyer=charts.money_by(buyers, "buyer"),
            leads=await admin_views.lead_list(ports, viewer, _RECENT),
            pings=await admin_views.ping_list(ports, viewer, _RECENT),
        )

    return router
