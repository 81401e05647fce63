"""Schedules: local wall-clock hours, midnight crossings, closed dates, both DST days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingtree.domain.orders import Schedule, WeeklyInterval
from pingtree.domain.schedules import is_open, parse_hhmm_range

NY = "America/New_York"
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def interval(weekday: int, hours: str) -> WeeklyInterval:
    start, end = parse_hhmm_range(hours)
    return WeeklyInterval(weekday, start, end)


def schedule(*intervals: WeeklyInterval, closed: tuple[str, ...] = (), tz: str = NY) -> Schedule:
    return Schedule(tz, intervals, frozenset(dt.date.fromisoformat(d) for d in closed))


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def local(text: str, tz: str = NY, fold: int = 0) -> dt.datetime:
    """A local wall time as the UTC instant the clock port would give."""
    wall = dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz), fold=fold)
    return wall.astimezone(dt.UTC)


def minutes_open(sched: Schedule, day_start_utc: dt.datetime, hours: int = 24) -> int:
    return sum(is_open(sched, day_start_utc + dt.timedelta(minutes=m)) for m in range(hours * 60))


WEEKDAYS_9_TO_5 = schedule(*(interval(d, "09:00-17:00") for d in (MON, TUE, WED, THU, FRI)))


# --- parse_hhmm_range ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-17:00", (540, 1020)),
        ("22:00-02:00", (1320, 1560)),
        ("00:00-24:00", (0, 1440)),
        ("18:30-24:00", (1110, 1440)),
        ("23:00-00:00", (1380, 1440)),
        ("9:15-9:45", (555, 585)),
        (" 08:00 - 12:00 ", (480, 720)),
        ("23:59-23:58", (1439, 2878)),
    ],
)
def test_parse_hhmm_range(text: str, expected: tuple[int, int]) -> None:
    assert parse_hhmm_range(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected HH:MM-HH:MM"),
        ("9-5", "expected HH:MM-HH:MM"),
        ("09:00–17:00", "expected HH:MM-HH:MM"),
        ("09:00-17:00-18:00", "expected HH:MM-HH:MM"),
        ("25:00-26:00", "start must be"),
        ("24:00-02:00", "start must be"),
        ("09:60-10:00", "start must be"),
        ("09:00-24:01", "end must be"),
        ("09:00-25:00", "end must be"),
        ("09:00-10:75", "end must be"),
        ("09:00-09:00", "00:00-24:00"),
        ("00:00-00:00", "00:00-24:00"),
    ],
)
def test_parse_hhmm_range_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_hhmm_range(text)
    assert repr(text) in str(info.value)


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59))
def test_parse_hhmm_range_properties(sh: int, sm: int, eh: int, em: int) -> None:
    text = f"{sh:02d}:{sm:02d}-{eh:02d}:{em:02d}"
    start, end = sh * 60 + sm, eh * 60 + em
    if start == end:
        with pytest.raises(ValueError, match="equal"):
            parse_hhmm_range(text)
        return
    parsed = parse_hhmm_range(text)
    assert parsed[0] == start
    assert 0 < parsed[1] - parsed[0] < 1440
    assert parsed[1] % 1440 == end


# --- ordinary days ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ("2026-06-15 08:59", False),  # Monday
        ("2026-06-15 09:00", True),
        ("2026-06-15 16:59:59", True),
        ("2026-06-15 17:00", False),
        ("2026-06-19 12:00", True),  # Friday
        ("2026-06-20 12:00", False),  # Saturday
        ("2026-06-21 12:00", False),  # Sunday
    ],
)
def test_weekday_hours_in_local_time(wall: str, expected: bool) -> None:
    assert is_open(WEEKDAYS_9_TO_5, local(wall)) is expected


def test_now_in_another_offset_is_the_same_instant() -> None:
    # 15:00 UTC on a summer Monday is 11:00 in New York
    assert is_open(WEEKDAYS_9_TO_5, utc("2026-06-15 15:00"))
    assert is_open(
        WEEKDAYS_9_TO_5,
        dt.datetime(2026, 6, 15, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    )
    # 22:00 UTC is 18:00 local: closed, though 22:00 UTC is still "Monday" in UTC too
    assert not is_open(WEEKDAYS_9_TO_5, utc("2026-06-15 22:00"))


def test_the_schedule_time_zone_decides_the_weekday() -> None:
    saturday_only = schedule(interval(SAT, "00:00-24:00"), tz="Asia/Tokyo")
    # Friday 16:00 UTC is Saturday 01:00 in Tokyo
    assert is_open(saturday_only, utc("2026-06-19 16:00"))
    assert not is_open(saturday_only, utc("2026-06-19 14:59"))


def test_no_intervals_is_never_open() -> None:
    assert not is_open(schedule(), utc("2026-06-15 12:00"))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(WEEKDAYS_9_TO_5, dt.datetime(2026, 6, 15, 12, 0))  # noqa: DTZ001


def test_all_week_open_around_the_clock() -> None:
    always = schedule(*(interval(d, "00:00-24:00") for d in range(7)))
    assert minutes_open(always, utc("2026-03-08 00:00"), hours=48) == 48 * 60


@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([dt.UTC, ZoneInfo(NY), ZoneInfo("Asia/Kolkata")]),
    )
)
def test_always_open_unless_closed(now: dt.datetime) -> None:
    always = schedule(*(interval(d, "00:00-24:00") for d in range(7)))
    assert is_open(always, now)
    today = now.astimezone(ZoneInfo(NY)).date()
    assert not is_open(schedule(*always.intervals, closed=(today.isoformat(),)), now)


# --- crossing midnight -----------------------------------------------------------------

FRIDAY_NIGHTS = schedule(interval(FRI, "22:00-02:00"))


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ("2026-06-19 21:59", False),  # Friday
        ("2026-06-19 22:00", True),
        ("2026-06-19 23:59", True),
        ("2026-06-20 00:00", True),  # Saturday
        ("2026-06-20 01:59", True),
        ("2026-06-20 02:00", False),
        ("2026-06-20 22:30", False),  # Saturday night is not Friday night
        ("2026-06-18 23:00", False),  # Thursday
    ],
)
def test_interval_crossing_midnight(wall: str, expected: bool) -> None:
    assert is_open(FRIDAY_NIGHTS, local(wall)) is expected


def test_sunday_night_crosses_into_monday() -> None:
    sunday_nights = schedule(interval(SUN, "20:00-06:00"))
    assert is_open(sunday_nights, local("2026-06-21 23:00"))  # Sunday
    assert is_open(sunday_nights, local("2026-06-22 05:59"))  # Monday
    assert not is_open(sunday_nights, local("2026-06-22 06:00"))
    assert not is_open(sunday_nights, local("2026-06-21 05:00"))  # Sunday morning


# --- closed dates ----------------------------------------------------------------------


def test_a_closed_date_closes_the_whole_local_day() -> None:
    sched = schedule(*WEEKDAYS_9_TO_5.intervals, closed=("2026-07-03",))  # a Friday
    assert minutes_open(sched, local("2026-07-03 00:00")) == 0
    assert minutes_open(sched, local("2026-07-02 00:00")) == 8 * 60
    # 2026-07-04 01:00 UTC is still 2026-07-03 in New York: closed by the local date
    assert not is_open(
        schedule(interval(FRI, "00:00-24:00"), closed=("2026-07-03",)), utc("2026-07-04 01:00")
    )


def test_the_tail_of_an_interval_into_a_closed_date_is_closed() -> None:
    sched = schedule(interval(FRI, "22:00-02:00"), closed=("2026-06-20",))  # Saturday
    assert is_open(sched, local("2026-06-19 23:30"))
    assert not is_open(sched, local("2026-06-20 00:30"))


def test_a_closed_date_does_not_close_the_next_morning() -> None:
    sched = schedule(interval(FRI, "22:00-02:00"), closed=("2026-06-19",))  # Friday
    assert not is_open(sched, local("2026-06-19 23:30"))
    assert is_open(sched, local("2026-06-20 00:30"))


# --- daylight saving time (America/New_York) ------------------------------------------
# 2026-03-08 (Sunday): 02:00 EST becomes 03:00 EDT. 2026-11-01 (Sunday): 02:00 EDT
# becomes 01:00 EST.

SUNDAY_9_TO_5 = schedule(interval(SUN, "09:00-17:00"))


def test_spring_forward_day_keeps_local_nine_to_five() -> None:
    assert not is_open(SUNDAY_9_TO_5, utc("2026-03-08 12:59"))  # 08:59 EDT
    assert is_open(SUNDAY_9_TO_5, utc("2026-03-08 13:00"))  # 09:00 EDT
    assert is_open(SUNDAY_9_TO_5, utc("2026-03-08 20:59"))  # 16:59 EDT
    assert not is_open(SUNDAY_9_TO_5, utc("2026-03-08 21:00"))  # 17:00 EDT
    assert minutes_open(SUNDAY_9_TO_5, utc("2026-03-08 05:00")) == 8 * 60


def test_spring_forward_nonexistent_wall_time_is_never_reached() -> None:
    gap_only = schedule(interval(SUN, "02:00-02:30"))
    assert minutes_open(gap_only, utc("2026-03-08 04:00")) == 0
    # an interval spanning the gap is open for the wall minutes that exist
    across_gap = schedule(interval(SUN, "01:00-04:00"))
    assert minutes_open(across_gap, utc("2026-03-08 04:00")) == 2 * 60
    assert is_open(across_gap, utc("2026-03-08 06:59"))  # 01:59 EST
    assert is_open(across_gap, utc("2026-03-08 07:00"))  # 03:00 EDT


def test_spring_forward_night_crossing_midnight() -> None:
    saturday_night = schedule(interval(SAT, "22:00-04:00"))
    # 22:00 EST Saturday to 04:00 EDT Sunday is five real hours, not six
    assert minutes_open(saturday_night, utc("2026-03-07 12:00")) == 5 * 60
    assert is_open(saturday_night, local("2026-03-08 03:59"))
    assert not is_open(saturday_night, local("2026-03-08 04:00"))


def test_fall_back_day_keeps_local_nine_to_five() -> None:
    assert not is_open(SUNDAY_9_TO_5, utc("2026-11-01 13:59"))  # 08:59 EST
    assert is_open(SUNDAY_9_TO_5, utc("2026-11-01 14:00"))  # 09:00 EST
    assert is_open(SUNDAY_9_TO_5, utc("2026-11-01 21:59"))  # 16:59 EST
    assert not is_open(SUNDAY_9_TO_5, utc("2026-11-01 22:00"))  # 17:00 EST
    assert minutes_open(SUNDAY_9_TO_5, utc("2026-11-01 04:00")) == 8 * 60


def test_fall_back_repeated_hour_is_open_both_times() -> None:
    repeated = schedule(interval(SUN, "01:00-02:00"))
    assert is_open(repeated, local("2026-11-01 01:30", fold=0))  # 05:30 UTC, EDT
    assert is_open(repeated, local("2026-11-01 01:30", fold=1))  # 06:30 UTC, EST
    assert minutes_open(repeated, utc("2026-11-01 04:00")) == 2 * 60
    assert not is_open(repeated, utc("2026-11-01 07:00"))  # 02:00 EST


def test_fall_back_night_crossing_midnight() -> None:
    saturday_night = schedule(interval(SAT, "22:00-04:00"))
    # 22:00 EDT Saturday to 04:00 EST Sunday is seven real hours
    assert minutes_open(saturday_night, utc("2026-10-31 12:00")) == 7 * 60
    assert is_open(saturday_night, utc("2026-11-01 08:59"))  # 03:59 EST
    assert not is_open(saturday_night, utc("2026-11-01 09:00"))  # 04:00 EST
