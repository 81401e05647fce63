"""What the reports API shows, as plain dicts and CSV downloads: the JSON routes and the UI's
dashboard and reports pages both call these, so the UI holds no logic of its own. Each takes
the principal asking: the marketplace's figures are the staff's (``api.scoping``).

Money is a string with two decimals; rates are numbers in ``[0, 1]`` to four decimals,
``None`` when there was nothing to divide by (a return rate may pass 1 over a short range:
a return counts on the day it was approved, its sale on the day it was sold). The figures
are defined in :mod:`pingtree.store.reports`; a range is ``[start, end)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import Response

from pingtree.api.scoping import open_section
from pingtree.domain.money import format_money
from pingtree.domain.report_days import UTC_ZONE, time_zone
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.store import reports
from pingtree.store.reports import Bucket, Dimension, Figures

__all__ = [
    "DEFAULT_SORT",
    "FIGURE_NAMES",
    "MAX_RANGE",
    "SORTABLE",
    "breakdown",
    "breakdown_csv",
    "breakdown_total",
    "buyer_performance",
    "dimension_problem",
    "dimensions",
    "figures",
    "range_problem",
    "rate",
    "report_zone",
    "sort_problem",
    "sort_rows",
    "summary",
    "timeseries",
    "timeseries_csv",
]

#: the longest range a report covers
MAX_RANGE = dt.timedelta(days=366)
#: the keys of :func:`figures`, in the order of the API's fields and CSV columns
FIGURE_NAMES = (
    "pings",
    "accepted_pings",
    "leads",
    "posts",
    "sold",
    "sales",
    "returned",
    "gross_revenue",
    "returns",
    "revenue",
    "gross_cost",
    "chargebacks",
    "cost",
    "profit",
    "acceptance_rate",
    "conversion",
    "sell_rate",
    "return_rate",
)
_RATE_DIGITS = 4
#: a breakdown's columns it may be sorted by (``-`` first: highest first)
SORTABLE = ("key", *FIGURE_NAMES)
DEFAULT_SORT = "-revenue"
_MONEY = frozenset(
    {"gross_revenue", "returns", "revenue", "gross_cost", "chargebacks", "cost", "profit"}
)


def report_zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The time zone of a report's days: ``name`` (an IANA name), else ``default``.

    Raises ``ValueError`` naming the problem for an unknown name."""
    return time_zone(name if name is not None else default)


def sort_problem(sort: str) -> str | None:
    """What is wrong with a breakdown's ``sort`` (``revenue``, ``-sold``, ``key``…)."""
    if sort.removeprefix("-") in SORTABLE:
        return None
    return f"one of {', '.join(SORTABLE)}, with '-' first for highest first"


def sort_rows(rows: Sequence[Mapping[str, Any]], sort: str) -> list[Mapping[str, Any]]:
    """``rows`` of :func:`breakdown` by ``sort``'s column (ties by key); rows without a
    rate (nothing to divide by) last either way.

    Raises ``ValueError`` for a column that is not :data:`SORTABLE`."""
    problem = sort_problem(sort)
    if problem:
        raise ValueError(f"sort: {problem}")
    name = sort.removeprefix("-")
    by_key = sorted(rows, key=lambda row: str(row["key"]))
    present = [row for row in by_key if row[name] is not None]
    absent = [row for row in by_key if row[name] is None]

    def value(row: Mapping[str, Any]) -> Any:
        return Decimal(row[name]) if name in _MONEY else row[name]

    # a stable sort: equal values keep the key order, highest first or not
    return [*sorted(present, key=value, reverse=sort.startswith("-")), *absent]


def range_problem(start: dt.datetime, end: dt.datetime) -> str | None:
    """What is wrong with the end of ``[start, end)`` as a report's range, if anything."""
    if end <= start:
        return "must be after from"
    if end.astimezone(dt.UTC) - start.astimezone(dt.UTC) > MAX_RANGE:
        return f"at most {MAX_RANGE.days} days after from"
    return None


async def summary(
    ports: Ports, principal: Principal, start: dt.datetime, end: dt.datetime, *, test: bool = False
) -> dict[str, Any]:
    """The dashboard's figures over the range."""
    open_section(principal, "reports")
    await ports.pings.drained()  # every ping answered so far counts
    async with ports.sessions() as session:
        found = await reports.summary(session, start, end, test=test)
    return figures(found)


async def timeseries(
    ports: Ports,
    principal: Principal,
    start: dt.datetime,
    end: dt.datetime,
    bucket: Bucket,
    *,
    test: bool = False,
    zone: ZoneInfo = UTC_ZONE,
) -> list[dict[str, Any]]:
    """The figures of each ``bucket`` of ``zone`` with its ``start``, oldest first."""
    open_section(principal, "reports")
    await ports.pings.drained()
    async with ports.sessions() as session:
        points = await reports.timeseries(session, start, end, bucket, test=test, zone=zone)
    return [{"start": point.start, **figures(point)} for point in points]


async def breakdown(
    ports: Ports,
    principal: Principal,
    by: Dimension,
    start: dt.datetime,
    end: dt.datetime,
    *,
    test: bool = False,
    sort: str = DEFAULT_SORT,
) -> list[dict[str, Any]]:
    """The figures of each supplier, campaign, buyer, order or vertical (its id: ``key``),
    or of each value of a lead's field (:func:`dimensions`), by ``sort`` (:func:`sort_rows`;
    default: highest net revenue first).

    Raises ``ValueError`` (:func:`dimension_problem`) for a ``by`` reports cannot group by."""
    open_section(principal, "reports")
    _check_dimension(ports, by)
    await ports.pings.drained()
    async with ports.sessions() as session:
        rows = await reports.breakdown(session, by, start, end, test=test)
    return [dict(row) for row in sort_rows([{"key": r.key, **figures(r)} for r in rows], sort)]


async def breakdown_total(
    ports: Ports,
    principal: Principal,
    by: Dimension,
    start: dt.datetime,
    end: dt.datetime,
    *,
    test: bool = False,
) -> dict[str, Any]:
    """The totals row of :func:`breakdown`: a lead sold to two buyers is one sold lead."""
    open_section(principal, "reports")
    _check_dimension(ports, by)
    await ports.pings.drained()
    async with ports.sessions() as session:
        return figures(await reports.breakdown_total(session, by, start, end, test=test))


def dimensions(ports: Ports) -> tuple[Dimension, ...]:
    """What a breakdown may group by: the columns (supplier, campaign, buyer, order,
    vertical), the tracking fields of attribution (``sub_id``, ``click_id``, ``utm_*``…),
    then the fields a vertical of the configuration marks as a report dimension, by name."""
    marked = {
        spec.name
        for vertical in ports.snapshots.current().config.verticals.values()
        for spec in vertical.fields
        if spec.report_dimension
    }
    extra = sorted(marked - set(reports.ATTRIBUTION) - set(reports.DIMENSIONS))
    return (*reports.DIMENSIONS, *reports.ATTRIBUTION, *extra)


def dimension_problem(ports: Ports, by: str) -> str | None:
    """What is wrong with ``by`` as a breakdown's grouping, if anything."""
    if by in dimensions(ports):
        return None
    return (
        f"one of {', '.join(reports.DIMENSIONS)}, a tracking field "
        f"({', '.join(reports.ATTRIBUTION)}) or a field a vertical marks as a report dimension"
    )


def _check_dimension(ports: Ports, by: str) -> None:
    problem = dimension_problem(ports, by)
    if problem:
        raise ValueError(f"by: {problem}")


async def buyer_performance(
    ports: Ports, principal: Principal, start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    """Buyers' response times, timeouts and errors per buyer and kind (``order_id``
    ``None``), then per order and kind."""
    open_section(principal, "reports")
    async with ports.sessions() as session:
        stats = await reports.buyer_performance(session, start, end)
    return [
        {**asdict(s), "timeout_rate": rate(s.timeout_rate), "error_rate": rate(s.error_rate)}
        for s in stats
    ]


def figures(found: Figures) -> dict[str, Any]:
    """:data:`FIGURE_NAMES` with money as strings and rates rounded."""
    return {
        "pings": found.pings,
        "accepted_pings": found.accepted_pings,
        "leads": found.leads,
        "posts": found.posts,
        "sold": found.sold,
        "sales": found.sales,
        "returned": found.returned,
        "gross_revenue": format_money(found.gross_revenue),
        "returns": format_money(found.returns),
        "revenue": format_money(found.revenue),
        "gross_cost": format_money(found.gross_cost),
        "chargebacks": format_money(found.chargebacks),
        "cost": format_money(found.cost),
        "profit": format_money(found.profit),
        "acceptance_rate": rate(found.acceptance_rate),
        "conversion": rate(found.conversion),
        "sell_rate": rate(found.sell_rate),
        "return_rate": rate(found.return_rate),
    }


def rate(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio, _RATE_DIGITS)


def timeseries_csv(
    points: Sequence[Mapping[str, Any]], bucket: Bucket, start: dt.datetime
) -> Response:
    """:func:`timeseries` as a CSV download: a ``start`` column, then the figures."""
    lines = [{**point, "start": point["start"].isoformat()} for point in points]
    return _csv(lines, ["start", *FIGURE_NAMES], f"timeseries-{bucket}-{start:%Y-%m-%d}")


def breakdown_csv(rows: Sequence[Mapping[str, Any]], by: Dimension, start: dt.datetime) -> Response:
    """:func:`breakdown` as a CSV download: the id in a column named ``by``, then the
    figures."""
    lines = [{by: row["key"], **{name: row[name] for name in FIGURE_NAMES}} for row in rows]
    return _csv(lines, [by, *FIGURE_NAMES], f"breakdown-{by}-{start:%Y-%m-%d}")


def _csv(rows: Sequence[Mapping[str, Any]], header: Sequence[str], name: str) -> Response:
    """``rows`` as a CSV download with a header row; ``None`` as an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
