"""The dispositions report page (``/ui/dispositions``): sold leads by supplier, campaign and
``sub_id`` (staff may group by buyer, order and vertical too) with how many the buyers
reported on, the contact and conversion rates, and the downstream value per sold lead. Staff
see every campaign; a supplier's user its own (its portal). The data and the rules are
``api.disposition_views``', as the admin API's and the supplier API's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from pingtree.api import disposition_views
from pingtree.principals import Principal
from pingtree.store.dispositions import DIMENSIONS
from pingtree.web.site import PageError, Site

__all__ = ["disposition_pages"]

#: the columns a dimension shows as
_TITLES = {
    "supplier": "Supplier",
    "campaign": "Campaign",
    "sub_id": "Sub id",
    "buyer": "Buyer",
    "order": "Order",
    "vertical": "Vertical",
}


def disposition_pages(site: Site) -> APIRouter:
    router = site.router()
    ports = site.ports

    @router.get("/ui/dispositions")
    async def report(
        request: Request,
        since: dt.date | None = None,
        until: dt.date | None = None,
        by: Annotated[list[str] | None, Query(max_length=len(DIMENSIONS))] = None,
        test: bool = False,
        viewer: Principal = Depends(site.signed_in),
    ) -> HTMLResponse:
        allowed = DIMENSIONS if viewer.is_staff else disposition_views.SUPPLIER_DIMENSIONS
        wanted = by or ["campaign", "sub_id"]
        try:
            start, end = disposition_views.report_range(ports.clock.now(), since, until)
            found = await disposition_views.disposition_report(
                ports, viewer, start, end, by=wanted, test=test
            )
        except ValueError as error:
            raise PageError(400, "Some of the input is not valid.", [str(error)]) from None
        return site.render(
            request,
            "dispositions.html",
            viewer=viewer,
            report=found,
            since=start.date(),
            until=(end - dt.timedelta(days=1)).date(),
            test=test,
            choices=[(name, _TITLES[name]) for name in allowed],
            titles=_TITLES,
        )

    return router
