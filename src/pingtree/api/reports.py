"""The reports API: dashboard figures, breakdowns, buyers' response times, cap usage.

Admin tokens only. A range is ``period`` (``today``, ``yesterday``, ``7d``, ``30d``,
``this_month``, ``last_month``: whole days of the time zone ``tz``) or ``from`` and ``to``
(``[from, to)``; a time without a zone is in ``tz``); neither means today. ``tz`` is an IANA
name (default ``UTC``); it also sets where a series' days and hours begin. Money is a string
with two decimals; rates are numbers in ``[0, 1]`` to four
decimals, ``null`` when there was nothing to divide by. The figures are defined in
:mod:`pingtree.store.reports`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from pingtree.api import report_views as views
from pingtree.api.auth import ADMIN_RESPONSES, Caller, KeyChecker, admin_only
from pingtree.api.problems import field_problem
from pingtree.api.report_range import ReportRange, report_range
from pingtree.api.scoping import token_principal
from pingtree.domain.money import format_money
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.store import reports
from pingtree.store.reports import Bucket

__all__ = ["reports_router"]

#: the most buckets a series has
_MAX_BUCKETS = 2000

Format = Literal["json", "csv"]
Test = Annotated[bool, Query(description="test traffic instead of live traffic")]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}


class FiguresOut(BaseModel):
    """Counts from the traffic; money from the ledger's entries of sales, gross and net of
    returns (a return counts on the day it was approved)."""

    pings: int
    accepted_pings: int
    leads: int
    posts: int
    #: leads with a sold sale, and sold sales (returned later or not)
    sold: int
    sales: int
    #: sales whose return was approved in the range
    returned: int
    #: what buyers were charged for the sales
    gross_revenue: str
    #: what buyers were credited back for returns
    returns: str
    #: net revenue: gross_revenue − returns
    revenue: str
    #: what suppliers earned for the sales
    gross_cost: str
    #: what suppliers were charged back for returns
    chargebacks: str
    #: net cost: gross_cost − chargebacks
    cost: str
    #: net profit: revenue − cost
    profit: str
    #: accepted pings ÷ pings
    acceptance_rate: float | None
    #: posts ÷ accepted pings
    conversion: float | None
    #: sold leads ÷ leads
    sell_rate: float | None
    #: returned ÷ sales (past 1 when returns approved in the range outnumber its sales)
    return_rate: float | None


class SummaryOut(FiguresOut):
    start: dt.datetime
    end: dt.datetime
    test: bool


class PointOut(FiguresOut):
    start: dt.datetime


class TimeseriesOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    bucket: Bucket
    points: list[PointOut]


class RowOut(FiguresOut):
    key: str


class BreakdownOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    #: a dimension, or the lead's field the rows group by
    by: str
    #: the column the rows are sorted by, ``-`` first for highest first
    sort: str
    rows: list[RowOut]
    #: the figures of all rows at once (a lead sold to two buyers is one sold lead)
    total: FiguresOut


class BuyerPerfOut(BaseModel):
    buyer_id: str
    #: ``null``: all the buyer's orders
    order_id: str | None
    kind: str
    attempts: int
    avg_ms: float
    p50_ms: int
    p90_ms: int
    max_ms: int
    timeouts: int
    errors: int
    timeout_rate: float
    error_rate: float


class BuyersOut(BaseModel):
    start: dt.datetime
    end: dt.datetime
    rows: list[BuyerPerfOut]


class CapUseOut(BaseModel):
    #: ``order`` (the order's own cap) or ``buyer`` (its buyer's budget)
    scope: str
    kind: str
    window: str
    window_key: str
    #: counts for a count cap, money strings for a spend cap
    limit: int | str
    used: int | str
    held: int | str
    resets_at: dt.datetime | None


class OrderCapsOut(BaseModel):
    order_id: str
    buyer_id: str
    caps: list[CapUseOut]


def reports_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    admin = Depends(admin_only(keys))
    router = APIRouter(
        prefix="/api/v1/admin",
        tags=["reports"],
        dependencies=[admin],
        responses=ADMIN_RESPONSES,
    )

    in_range = Depends(report_range(ports))

    @router.get("/reports/summary")
    async def summary(
        range_: ReportRange = in_range, test: Test = False, caller: Caller = admin
    ) -> SummaryOut:
        """The dashboard's figures over the range: pings, posts, sold and returned, acceptance
        rate, ping → post conversion, return rate, and the ledger's money gross and net of
        returns."""
        figures = await views.summary(
            ports, token_principal(caller), range_.start, range_.end, test=test
        )
        return SummaryOut(**figures, start=range_.start, end=range_.end, test=test)

    @router.get("/reports/timeseries", response_model=TimeseriesOut, responses=_CSV)
    async def timeseries(
        range_: ReportRange = in_range,
        bucket: Bucket = "day",
        test: Test = False,
        format: Format = "json",
        caller: Caller = admin,
    ) -> Response | TimeseriesOut:
        """The figures per day or hour of ``tz``, empty buckets included, oldest first;
        a day is 23 or 25 hours long on a DST change."""
        buckets = (range_.end.astimezone(dt.UTC) - range_.start.astimezone(dt.UTC)) / (
            dt.timedelta(days=1) if bucket == "day" else dt.timedelta(hours=1)
        )
        if buckets > _MAX_BUCKETS:
            raise field_problem(
                ("query", "bucket"),
                f"more than {_MAX_BUCKETS} buckets: a shorter range or a longer bucket",
                "value_error",
                bucket,
            )
        points = await views.timeseries(
            ports,
            token_principal(caller),
            range_.start,
            range_.end,
            bucket,
            test=test,
            zone=range_.zone,
        )
        if format == "csv":
            return views.timeseries_csv(points, bucket, range_.start)
        return TimeseriesOut(
            start=range_.start,
            end=range_.end,
            bucket=bucket,
            points=[PointOut(**point) for point in points],
        )

    @router.get("/reports/breakdown", response_model=BreakdownOut, responses=_CSV)
    async def breakdown(
        by: Annotated[
            str,
            Query(
                description="supplier, campaign, buyer, order or vertical; or a lead's "
                "tracking field (sub_id, sub_id2, sub_id3, click_id, utm_source, utm_medium, "
                "utm_campaign, utm_term, utm_content) or a field its vertical marks as a "
                "report dimension",
                max_length=64,
            ),
        ],
        range_: ReportRange = in_range,
        test: Test = False,
        format: Format = "json",
        sort: Annotated[
            str,
            Query(
                description="the column to sort by: key or a figure, '-' first for highest "
                "first (default -revenue)",
                max_length=32,
            ),
        ] = views.DEFAULT_SORT,
        caller: Caller = admin,
    ) -> Response | BreakdownOut:
        """The figures per supplier, campaign, buyer, order or vertical, or per value of a
        lead's field (``""``: leads without one), by ``sort`` (highest net revenue first),
        with their total. For buyers and orders, pings and posts are 0 and ``leads`` are
        the leads delivered to it, so ``sell_rate`` is its acceptance."""
        problem = views.sort_problem(sort)
        if problem:
            raise field_problem(("query", "sort"), problem, "value_error", sort)
        problem = views.dimension_problem(ports, by)
        if problem:
            raise field_problem(("query", "by"), problem, "value_error", by)
        principal = token_principal(caller)
        rows = await views.breakdown(
            ports, principal, by, range_.start, range_.end, test=test, sort=sort
        )
        if format == "csv":
            return views.breakdown_csv(rows, by, range_.start)
        total = await views.breakdown_total(
            ports, principal, by, range_.start, range_.end, test=test
        )
        return BreakdownOut(
            start=range_.start,
            end=range_.end,
            by=by,
            sort=sort,
            rows=[RowOut(**row) for row in rows],
            total=FiguresOut(**total),
        )

    @router.get("/reports/buyers")
    async def buyers(range_: ReportRange = in_range, caller: Caller = admin) -> BuyersOut:
        """Buyers' endpoints from the delivery log: response times (average, p50, p90,
        max), timeouts and errors per buyer and kind (``order_id`` null), then per order."""
        stats = await views.buyer_performance(
            ports, token_principal(caller), range_.start, range_.end
        )
        return BuyersOut(
            start=range_.start, end=range_.end, rows=[BuyerPerfOut(**s) for s in stats]
        )

    @router.get("/orders/{order_id}/caps")
    async def order_caps(order_id: str) -> OrderCapsOut:
        """Each cap of the order and of its buyer's budget: limit, committed use and holds
        of won pings in the current window, and when that window turns over."""
        config = ports.snapshots.current().config
        order = config.orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id!r}")
        uses = await reports.cap_usage(
            ports.caps, order, config.buyers[order.buyer_id], ports.clock.now()
        )
        return OrderCapsOut(
            order_id=order.id,
            buyer_id=order.buyer_id,
            caps=[
                CapUseOut(
                    scope=use.scope,
                    kind=use.cap.kind.value,
                    window=use.cap.window.value,
                    window_key=use.window_key,
                    limit=_amount(use.limit),
                    used=_amount(use.used),
                    held=_amount(use.held),
                    resets_at=use.resets_at,
                )
                for use in uses
            ],
        )

    return router


def _amount(amount: int | Decimal) -> int | str:
    return format_money(amount) if isinstance(amount, Decimal) else amount
