"""The range of a report or a scorecard, from a request's query: ``period`` (``today``,
``7d``, ``last_month``…: whole days of ``tz``) or ``from`` and ``to`` (``[from, to)``; a
time without a zone is in ``tz``), neither meaning today; ``tz`` an IANA name (default
UTC). One dependency for every route that takes a range, with one set of messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query

from pingtree.api import report_views as views
from pingtree.api.problems import field_problem
from pingtree.flows.ports import Ports
from pingtree.store.reports import Period, period_bounds

__all__ = ["ReportRange", "report_range"]


@dataclass(frozen=True)
class ReportRange:
    start: dt.datetime
    end: dt.datetime
    #: where the range's days (and a series' buckets) begin
    zone: ZoneInfo


def report_range(ports: Ports) -> Callable[..., Awaitable[ReportRange]]:
    """A dependency reading the range of the request's query; a 422 naming the parameter
    when it is not one (both a period and dates, one date alone, an unknown zone, ``to``
    not after ``from``, a moment off the calendar)."""

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
    ) -> ReportRange:
        try:
            zone = views.report_zone(tz)
        except ValueError as error:
            raise field_problem(("query", "tz"), str(error), "value_error", tz) from None
        if period is not None and (start is not None or end is not None):
            raise field_problem(
                ("query", "period"), "give a period or from and to, not both", "value_error", period
            )
        if start is None and end is None:
            return ReportRange(*period_bounds(period or "today", ports.clock.now(), zone), zone)
        if start is None or end is None:
            missing, other = ("from", "to") if start is None else ("to", "from")
            raise field_problem(("query", missing), f"required with {other}", "missing", None)
        try:
            start, end = _aware(start, zone), _aware(end, zone)
            problem = views.range_problem(start, end)
        except OverflowError:  # a moment at the very edge of the calendar, out of UTC's
            problem = "must be a moment between the years 1 and 9999 in UTC"
        if problem is not None:
            raise field_problem(("query", "to"), problem, "value_error", end)
        return ReportRange(start, end, zone)

    return date_range


def _aware(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """``moment``, read in ``zone`` when it has no zone of its own, in ``zone``."""
    if moment.tzinfo is None:
        # through UTC: a wall time skipped by a DST change becomes the change's instant
        return moment.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
    return moment.astimezone(zone)
