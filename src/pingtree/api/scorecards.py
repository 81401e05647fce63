"""The scorecards' API routes (``api.scorecard_views``): an admin token reads any buyer's
(``/api/v1/admin/buyers/{buyer_id}/scorecard``) and any supplier's
(``/api/v1/admin/suppliers/{supplier_id}/scorecard``); a buyer's key reads its own
(``/api/v1/buyer/scorecard``), a supplier's key its own (``/api/v1/supplier/scorecard``).

The range is the reports' (``api.reports``): a ``period`` of whole days of ``tz`` (default
``today``), or ``from`` and ``to``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from pingtree.api import report_views, scorecard_views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.party_auth import PARTY_RESPONSES, party_principal
from pingtree.api.problems import field_problem
from pingtree.api.scoping import token_principal
from pingtree.domain.report_days import Period, period_bounds
from pingtree.flows.ports import Ports
from pingtree.principals import Principal

__all__ = ["scorecards_router"]

PartyId = Annotated[str, Path(min_length=1, max_length=64)]
Range = tuple[dt.datetime, dt.datetime]


def scorecards_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter()
    admin = Depends(admin_only(keys))
    buyer = Depends(party_principal(keys, "buyer"))
    supplier = Depends(party_principal(keys, "supplier"))

    async def date_range(
        period: Annotated[
            Period | None, Query(description="whole days of tz ending today; not with from/to")
        ] = None,
        start: Annotated[
            dt.datetime | None,
            Query(alias="from", description="start, inclusive (without a zone: in tz)"),
        ] = None,
        end: Annotated[
            dt.datetime | None,
            Query(alias="to", description="end, exclusive (without a zone: in tz)"),
        ] = None,
        tz: Annotated[
            str | None,
            Query(description="the IANA time zone of the days (default UTC)", max_length=64),
        ] = None,
    ) -> Range:
        return _range(ports, period, start, end, tz)

    in_range = Depends(date_range)

    @router.get(
        "/api/v1/admin/buyers/{buyer_id}/scorecard",
        tags=["scorecards"],
        responses=ADMIN_RESPONSES,
    )
    async def admin_buyer_scorecard(
        buyer_id: PartyId, range_: Range = in_range, caller: Caller = admin
    ) -> dict[str, Any]:
        """A buyer's scorecard: ping latency p50/p90/p99, timeouts, errors, bid and win
        rates, posts accepted after winning, post failures by kind, return rate and the
        dispositions it reported (contact and conversion rates)."""
        return await scorecard_views.buyer_scorecard(
            ports, token_principal(caller), buyer_id, *range_
        )

    @router.get(
        "/api/v1/admin/suppliers/{supplier_id}/scorecard",
        tags=["scorecards"],
        responses=ADMIN_RESPONSES,
    )
    async def admin_supplier_scorecard(
        supplier_id: PartyId, range_: Range = in_range, caller: Caller = admin
    ) -> dict[str, Any]:
        """A supplier's scorecard: acceptance, ping-to-post and sell rates, return rate and
        its leads' dispositions (contact and conversion rates)."""
        return await scorecard_views.supplier_scorecard(
            ports, token_principal(caller), supplier_id, *range_
        )

    @router.get("/api/v1/buyer/scorecard", tags=["buyer"], responses=PARTY_RESPONSES)
    async def own_buyer_scorecard(
        range_: Range = in_range, principal: Principal = buyer
    ) -> dict[str, Any]:
        """The calling buyer's own scorecard (as the admin API's)."""
        _, buyer_id = scorecard_views.own_party(principal)
        return await scorecard_views.buyer_scorecard(ports, principal, buyer_id, *range_)

    @router.get("/api/v1/supplier/scorecard", tags=["supplier"], responses=PARTY_RESPONSES)
    async def own_supplier_scorecard(
        range_: Range = in_range, principal: Principal = supplier
    ) -> dict[str, Any]:
        """The calling supplier's own scorecard (as the admin API's; no money)."""
        _, supplier_id = scorecard_views.own_party(principal)
        return await scorecard_views.supplier_scorecard(ports, principal, supplier_id, *range_)

    return router


def _range(
    ports: Ports,
    period: Period | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    tz: str | None,
) -> Range:
    """The range asked, with the reports API's rules and messages."""
    try:
        zone = report_views.report_zone(tz)
    except ValueError as error:
        raise field_problem(("query", "tz"), str(error), "value_error", tz) from None
    if period is not None and (start is not None or end is not None):
        raise field_problem(
            ("query", "period"), "give a period or from and to, not both", "value_error", period
        )
    if start is None and end is None:
        return period_bounds(period or "today", ports.clock.now(), zone)
    if start is None or end is None:
        missing, other = ("from", "to") if start is None else ("to", "from")
        raise field_problem(("query", missing), f"required with {other}", "missing", None)
    start, end = (
        moment if moment.tzinfo else moment.replace(tzinfo=zone) for moment in (start, end)
    )
    try:
        problem = report_views.range_problem(start, end)
    except OverflowError:  # a moment at the very edge of the calendar, out of UTC's
        problem = "must be a moment between the years 1 and 9999 in UTC"
    if problem is not None:
        raise field_problem(("query", "to"), problem, "value_error", end)
    return start, end
