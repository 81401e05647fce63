"""Reports' days and hours in a time zone: the ranges of the named periods, the starts of a
series' buckets, and the zone's UTC offsets over a range (which the report queries turn into
a local day number per row, the same way on SQLite and PostgreSQL).

A local day starts at the first instant whose wall-clock date is that day: usually midnight,
01:00 where the clocks spring forward at midnight. A day is 23, 24 or 25 hours long; an hour
bucket is always 3,600 seconds (the repeated hour of a fall-back day is two buckets).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "PERIODS",
    "UTC_ZONE",
    "Bucket",
    "OffsetSpan",
    "Period",
    "bucket_starts",
    "day_number",
    "local_midnight",
    "offset_spans",
    "period_bounds",
    "time_zone",
]

Period = Literal["today", "yesterday", "7d", "30d", "this_month", "last_month"]
Bucket = Literal["day", "hour"]
PERIODS: tuple[Period, ...] = ("today", "yesterday", "7d", "30d", "this_month", "last_month")
UTC_ZONE = ZoneInfo("UTC")

_HOUR = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)
_EPOCH_DAY = dt.date(1970, 1, 1)
_MAX_NAME = 64


@dataclass(frozen=True)
class OffsetSpan:
    """From ``since`` (UTC; ``None``: the start of the range) the zone is ``offset`` ahead
    of UTC (negative: behind)."""

    since: dt.datetime | None
    offset: dt.timedelta


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone of ``name`` (``America/New_York``, ``UTC``).

    Raises ``ValueError`` for a name that is not an IANA time zone."""
    if not name or len(name) > _MAX_NAME or name != name.strip() or "\x00" in name:
        raise ValueError(f"unknown time zone {name!r}: an IANA name such as America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: an IANA name such as America/New_York"
        ) from None


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of ``day`` in ``zone``, in ``zone``."""
    # a wall time skipped by a spring-forward maps (fold=0) to the instant of the change,
    # which is the day's first instant when the clocks jump at midnight
    start = dt.datetime.combine(day, dt.time(), zone)
    return start.astimezone(dt.UTC).astimezone(zone)


def period_bounds(
    period: Period, now: dt.datetime, zone: ZoneInfo = UTC_ZONE
) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of whole days of ``zone``: ``today``; ``yesterday``; ``7d`` and
    ``30d``, today and the days before it; ``this_month``, from its first day to the end of
    today; ``last_month``, the whole previous month. Both ends are in ``zone``.

    Raises ``ValueError`` for another ``period`` or a naive ``now``."""
    if now.tzinfo is None:
        raise ValueError(f"now must be an aware datetime, got {now!r}")
    today = now.astimezone(zone).date()
    tomorrow = today + _DAY
    first_of_month = today.replace(day=1)
    days: dict[str, tuple[dt.date, dt.date]] = {
        "today": (today, tomorrow),
        "yesterday": (today - _DAY, today),
        "7d": (today - 6 * _DAY, tomorrow),
        "30d": (today - 29 * _DAY, tomorrow),
        "this_month": (first_of_month, tomorrow),
        "last_month": ((first_of_month - _DAY).replace(day=1), first_of_month),
    }
    if period not in days:
        raise ValueError(f"unknown period {period!r}: one of {', '.join(PERIODS)}")
    first, after = days[period]
    return local_midnight(first, zone), local_midnight(after, zone)


def bucket_starts(
    start: dt.datetime, end: dt.datetime, bucket: Bucket, zone: ZoneInfo = UTC_ZONE
) -> list[dt.datetime]:
    """The starts (in ``zone``) of the buckets from the one containing ``start`` to the last
    one before ``end``: local days, or hours of 3,600 seconds aligned on the zone's hours.

    Raises ``ValueError`` for another ``bucket``."""
    local = start.astimezone(zone)
    if bucket == "day":
        day = local.date()
        starts = []
        while (moment := local_midnight(day, zone)) < end:
            starts.append(moment)
            day += _DAY
        return starts
    if bucket != "hour":
        raise ValueError(f"unknown bucket {bucket!r}: one of day, hour")
    # the zone's hours start at a whole hour of its offset (which may be :30 or :45 in UTC)
    moment = local.replace(minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    starts = []
    while moment < end:
        starts.append(moment.astimezone(zone))
        moment += _HOUR
    return starts


def day_number(day: dt.date) -> int:
    """A local day as the reports' queries number it: days since 1970-01-01."""
    return (day - _EPOCH_DAY).days


def offset_spans(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> list[OffsetSpan]:
    """The zone's UTC offsets over ``[start, end)``, in order: the first span's ``since`` is
    ``None``; each next one starts at a change of offset (a DST change)."""
    first = start.astimezone(zone).utcoffset() or dt.timedelta()
    spans = [OffsetSpan(None, first)]
    # offsets change at most a few times a year: look day by day, then find the second
    moment = start.astimezone(dt.UTC)
    last = end.astimezone(dt.UTC)
    while moment < last:
        step = min(moment + _DAY, last)
        offset = step.astimezone(zone).utcoffset() or dt.timedelta()
        if offset != spans[-1].offset:
            low, high = moment, step  # offset(low) is the old one, offset(high) the new
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if (middle.astimezone(zone).utcoffset() or dt.timedelta()) == spans[-1].offset:
                    low = middle
                else:
                    high = middle
            spans.append(OffsetSpan(high, offset))
        moment = step
    return spans
