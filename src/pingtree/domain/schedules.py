"""Order schedules: weekly local hours of operation plus closed dates (DESIGN §8.3).

Everything is in the schedule's own wall clock. ``09:00-17:00`` means nine to five local
time on every day, including both daylight-saving transition days; a wall time that does
not exist (02:30 on a spring-forward day in New York) is simply never reached, and one
that happens twice (01:30 on a fall-back day) is open or closed both times alike.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

from pingtree.domain.orders import Schedule

__all__ = ["is_open", "parse_hhmm_range"]

_MINUTES_PER_DAY = 24 * 60

_RANGE_RE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_open(schedule: Schedule, now: dt.datetime) -> bool:
    """Whether ``schedule`` is open at ``now`` (an aware datetime, normally UTC).

    Open when some interval contains the local wall-clock minute: an interval of weekday
    ``d`` covers ``[start, end)`` of day ``d`` and, when ``end`` > 1440, the first
    ``end - 1440`` minutes of day ``d + 1``. A closed date closes its whole local day,
    including the part of the previous day's interval that runs past midnight into it.
    A schedule without intervals is never open.

    Raises ``ValueError`` for a naive ``now``; ``ZoneInfoNotFoundError`` (a ``KeyError``)
    for an unknown time zone.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    local = now.astimezone(_zone(schedule.timezone))
    if local.date() in schedule.closed_dates:
        return False
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    yesterday = (weekday - 1) % 7
    # the same minute seen from the day before, for intervals that cross midnight
    minute_from_yesterday = minute + _MINUTES_PER_DAY
    for interval in schedule.intervals:
        if interval.weekday == weekday and interval.start <= minute < interval.end:
            return True
        if interval.weekday == yesterday and interval.start <= minute_from_yesterday < interval.end:
            return True
    return False


def parse_hhmm_range(text: str) -> tuple[int, int]:
    """Local minutes ``(start, end)`` of an ``HH:MM-HH:MM`` range.

    ``"09:00-17:00"`` → ``(540, 1020)``. An end at or before the start crosses midnight:
    ``"22:00-02:00"`` → ``(1320, 1560)``. ``24:00`` is allowed as an end only, so
    ``"00:00-24:00"`` is the whole day. Raises ``ValueError`` naming the text for anything
    else, including an empty range such as ``"09:00-09:00"``.
    """
    match = _RANGE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid time range {text!r}: expected HH:MM-HH:MM, e.g. 09:00-17:00")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59:
        raise ValueError(f"invalid time range {text!r}: start must be between 00:00 and 23:59")
    if end_m > 59 or end_h > 24 or (end_h == 24 and end_m != 0):
        raise ValueError(f"invalid time range {text!r}: end must be between 00:00 and 24:00")
    start = start_h * 60 + start_m
    end = end_h * 60 + end_m
    if end == start:
        raise ValueError(
            f"invalid time range {text!r}: start and end are equal "
            "(write 00:00-24:00 for the whole day)"
        )
    if end < start:
        end += _MINUTES_PER_DAY
    return start, end
