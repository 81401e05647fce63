"""The period form of the reports and scorecards pages: whole days of a time zone, a
``period`` preset (today, yesterday, 7d, 30d, this_month, last_month) or ``from`` and ``to``
(both included; a blank end is the last 7 days), ``tz`` an IANA name (blank: the signed-in
user's own time zone, else UTC). ``from=2026-11-17&to=2026-11-23`` is ``[2026-11-17T00:00,
2026-11-24T00:00)`` in ``tz``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingtree.api import report_views
from pingtree.domain.report_days import Period, local_midnight, period_bounds
from pingtree.flows.ports import Ports
from pingtree.principals import Principal
from pingtree.web.site import PageError

__all__ = ["DEFAULT_DAYS", "PERIOD_NAMES", "PeriodQuery", "Span", "span_of", "zone_of"]

DEFAULT_DAYS = 7
#: the presets above the form
PERIOD_NAMES = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "7 days",
    "30d": "30 days",
    "this_month": "This month",
    "last_month": "Last month",
}


class PeriodQuery(BaseModel):
    """The form's days: blank fields take their defaults."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, str_strip_whitespace=True)

    first_day: dt.date | None = Field(default=None, alias="from")
    last_day: dt.date | None = Field(default=None, alias="to")
    period: Period | None = None
    tz: str | None = Field(default=None, max_length=64)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


@dataclass(frozen=True)
class Span:
    first_day: dt.date
    last_day: dt.date
    start: dt.datetime
    end: dt.datetime
    zone: ZoneInfo

    @property
    def tz(self) -> str:
        return self.zone.key


def zone_of(query: PeriodQuery, viewer: Principal) -> ZoneInfo:
    """The form's time zone, else the user's own; a 400 page naming ``tz`` if unknown."""
    try:
        return report_views.report_zone(query.tz, viewer.time_zone or "UTC")
    except ValueError as error:
        raise PageError(400, "Some of the input is not valid.", [f"tz: {error}"]) from None


def span_of(ports: Ports, query: PeriodQuery, viewer: Principal) -> Span:
    """The whole days asked; a 400 page naming ``to`` when they are not a range."""
    zone = zone_of(query, viewer)
    if query.period is not None:
        start, end = period_bounds(query.period, ports.clock.now(), zone)
        return Span(start.date(), (end - dt.timedelta(seconds=1)).date(), start, end, zone)
    last_day = query.last_day or ports.clock.now().astimezone(zone).date()
    first_day = query.first_day or last_day - dt.timedelta(days=DEFAULT_DAYS - 1)
    start = local_midnight(first_day, zone)
    end = local_midnight(last_day + dt.timedelta(days=1), zone)
    problem = "must not be before from" if last_day < first_day else None
    problem = problem or report_views.range_problem(start, end)
    if problem:
        raise PageError(400, "Some of the input is not valid.", [f"to: {problem}"])
    return Span(first_day, last_day, start, end, zone)
