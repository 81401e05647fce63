"""Cap windows in local time, across DST, and the charges a sale makes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingtree.domain.caps import CapCharge, cap_amount, charges_for, fits, window_end, window_key
from pingtree.domain.orders import Cap, CapKind, CapWindow, Order, OrderStatus, Pricing, PricingKind
from pingtree.domain.parties import Buyer

UTC = dt.UTC
NEW_YORK = "America/New_York"
TINY = dt.timedelta(microseconds=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_midnight(day: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


# --- window keys ---------------------------------------------------------------------------


def test_window_keys() -> None:
    now = utc(2026, 11, 23, 14, 30)  # a Monday; 09:30 in New York
    assert window_key(CapWindow.HOUR, now, NEW_YORK) == "h:2026-11-23T14"
    assert window_key(CapWindow.DAY, now, NEW_YORK) == "d:2026-11-23"
    assert window_key(CapWindow.WEEK, now, NEW_YORK) == "w:2026-11-23"
    assert window_key(CapWindow.MONTH, now, NEW_YORK) == "m:2026-11"
    assert window_key(CapWindow.TOTAL, now, NEW_YORK) == "t"


def test_day_week_and_month_follow_the_local_calendar() -> None:
    # 03:00 UTC on Tuesday 1 December is still Monday 30 November, 22:00, in New York
    now = utc(2026, 12, 1, 3, 0)
    assert window_key(CapWindow.DAY, now, NEW_YORK) == "d:2026-11-30"
    assert window_key(CapWindow.WEEK, now, NEW_YORK) == "w:2026-11-30"
    assert window_key(CapWindow.MONTH, now, NEW_YORK) == "m:2026-11"
    assert window_key(CapWindow.DAY, now, "UTC") == "d:2026-12-01"
    assert window_key(CapWindow.MONTH, now, "UTC") == "m:2026-12"
    # ...and already Tuesday afternoon in Auckland
    assert window_key(CapWindow.DAY, now, "Pacific/Auckland") == "d:2026-12-01"


def test_week_starts_on_monday() -> None:
    sunday_evening = utc(2026, 11, 29, 23, 0)  # Sunday 18:00 in New York
    assert window_key(CapWindow.WEEK, sunday_evening, NEW_YORK) == "w:2026-11-23"
    monday_morning = utc(2026, 11, 30, 5, 0)  # Monday 00:00 in New York
    assert window_key(CapWindow.WEEK, monday_morning, NEW_YORK) == "w:2026-11-30"
    assert window_key(CapWindow.WEEK, monday_morning - TINY, NEW_YORK) == "w:2026-11-23"


def test_hour_is_the_utc_hour_even_in_a_half_hour_zone() -> None:
    now = utc(2026, 11, 23, 14, 45)  # 20:15 in Kolkata
    assert window_key(CapWindow.HOUR, now, "Asia/Kolkata") == "h:2026-11-23T14"
    assert window_end(CapWindow.HOUR, now, "Asia/Kolkata") == utc(2026, 11, 23, 15)


def test_the_same_instant_in_another_offset_gives_the_same_keys() -> None:
    now = utc(2026, 7, 4, 3, 30)
    elsewhere = now.astimezone(ZoneInfo("Asia/Tokyo"))
    for window in CapWindow:
        assert window_key(window, now, NEW_YORK) == window_key(window, elsewhere, NEW_YORK)
        assert window_end(window, now, NEW_YORK) == window_end(window, elsewhere, NEW_YORK)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        window_key(CapWindow.DAY, dt.datetime(2026, 1, 1), NEW_YORK)  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        window_end(CapWindow.TOTAL, dt.datetime(2026, 1, 1), NEW_YORK)  # noqa: DTZ001


def test_unknown_time_zone() -> None:
    with pytest.raises(ZoneInfoNotFoundError):
        window_key(CapWindow.DAY, utc(2026, 1, 1), "Mars/Olympus_Mons")


# --- window ends ---------------------------------------------------------------------------


def test_window_ends() -> None:
    now = utc(2026, 11, 25, 14, 30)  # Wednesday, EST (UTC-5)
    assert window_end(CapWindow.HOUR, now, NEW_YORK) == utc(2026, 11, 25, 15)
    assert window_end(CapWindow.DAY, now, NEW_YORK) == utc(2026, 11, 26, 5)
    assert window_end(CapWindow.WEEK, now, NEW_YORK) == utc(2026, 11, 30, 5)
    assert window_end(CapWindow.MONTH, now, NEW_YORK) == utc(2026, 12, 1, 5)
    assert window_end(CapWindow.TOTAL, now, NEW_YORK) is None
    assert window_end(CapWindow.MONTH, utc(2026, 12, 31, 12), "UTC") == utc(2027, 1, 1)
    assert window_end(CapWindow.MONTH, utc(2028, 2, 10), "UTC") == utc(2028, 3, 1)


def test_window_end_is_utc() -> None:
    end = window_end(CapWindow.DAY, utc(2026, 6, 1, 12), "Europe/Paris")
    assert end is not None
    assert end.tzinfo is UTC
    assert end == utc(2026, 6, 1, 22)  # midnight CEST


def test_spring_forward_day_in_new_york_is_23_hours() -> None:
    # 2026-03-08: 02:00 EST → 03:00 EDT. The day runs 05:00 UTC → 04:00 UTC next day.
    start = utc(2026, 3, 8, 5)
    assert window_key(CapWindow.DAY, start, NEW_YORK) == "d:2026-03-08"
    assert window_key(CapWindow.DAY, start - TINY, NEW_YORK) == "d:2026-03-07"
    for now in (start, utc(2026, 3, 8, 6, 59), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 3, 59)):
        assert window_key(CapWindow.DAY, now, NEW_YORK) == "d:2026-03-08"
        assert window_end(CapWindow.DAY, now, NEW_YORK) == utc(2026, 3, 9, 4)
    assert window_end(CapWindow.DAY, start, NEW_YORK) == start + dt.timedelta(hours=23)
    assert window_key(CapWindow.DAY, utc(2026, 3, 9, 4), NEW_YORK) == "d:2026-03-09"
    # the week (Monday 2 March → Monday 9 March) also ends at local midnight, now EDT
    assert window_end(CapWindow.WEEK, start, NEW_YORK) == utc(2026, 3, 9, 4)
    assert window_end(CapWindow.MONTH, start, NEW_YORK) == utc(2026, 4, 1, 4)


def test_fall_back_day_in_new_york_is_25_hours() -> None:
    # 2026-11-01: 02:00 EDT → 01:00 EST. The day runs 04:00 UTC → 05:00 UTC next day.
    start = utc(2026, 11, 1, 4)
    assert window_key(CapWindow.DAY, start, NEW_YORK) == "d:2026-11-01"
    assert window_key(CapWindow.DAY, start - TINY, NEW_YORK) == "d:2026-10-31"
    assert window_key(CapWindow.MONTH, start - TINY, NEW_YORK) == "m:2026-10"
    assert window_key(CapWindow.MONTH, start, NEW_YORK) == "m:2026-11"
    # 01:30 happens twice (05:30 and 06:30 UTC): both are 1 November
    for now in (start, utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 4, 59)):
        assert window_key(CapWindow.DAY, now, NEW_YORK) == "d:2026-11-01"
        assert window_end(CapWindow.DAY, now, NEW_YORK) == utc(2026, 11, 2, 5)
    assert window_end(CapWindow.DAY, start, NEW_YORK) == start + dt.timedelta(hours=25)
    assert window_key(CapWindow.DAY, utc(2026, 11, 2, 5), NEW_YORK) == "d:2026-11-02"
    # the October month ended at local midnight EDT
    assert window_end(CapWindow.MONTH, start - TINY, NEW_YORK) == start


def test_a_skipped_local_midnight_ends_the_day_at_the_jump() -> None:
    # Havana springs forward at midnight: 2026-03-08 00:00 CST becomes 01:00 CDT (05:00 UTC)
    tz = "America/Havana"
    now = utc(2026, 3, 8, 4, 59)  # 23:59 CST on 7 March
    assert window_key(CapWindow.DAY, now, tz) == "d:2026-03-07"
    assert window_end(CapWindow.DAY, now, tz) == utc(2026, 3, 8, 5)
    assert window_key(CapWindow.DAY, utc(2026, 3, 8, 5), tz) == "d:2026-03-08"


# --- properties: keys change exactly where windows end -------------------------------------

_ZONES = [
    "UTC",
    NEW_YORK,
    "Europe/London",
    "Europe/Paris",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kolkata",
    "America/Havana",  # DST at midnight
    "America/Santiago",  # DST at midnight, southern hemisphere
    "Pacific/Auckland",
    "Pacific/Apia",
]
_instants = st.datetimes(
    min_value=dt.datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=dt.datetime(2032, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_windows = st.sampled_from([CapWindow.HOUR, CapWindow.DAY, CapWindow.WEEK, CapWindow.MONTH])


@given(_instants, _windows, st.sampled_from(_ZONES))
def test_key_holds_until_the_window_end_and_changes_there(
    now: dt.datetime, window: CapWindow, tz: str
) -> None:
    key = window_key(window, now, tz)
    end = window_end(window, now, tz)
    assert end is not None
    assert end.tzinfo is UTC
    assert end > now
    assert window_key(window, end - TINY, tz) == key
    following = window_key(window, end, tz)
    assert following > key  # keys sort chronologically
    # and the next window ends later still
    next_end = window_end(window, end, tz)
    assert next_end is not None
    assert next_end > end


@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2032, 12, 31)))
def test_day_key_changes_exactly_at_local_midnight(day: dt.date) -> None:
    midnight = local_midnight(day, NEW_YORK)
    assert window_key(CapWindow.DAY, midnight, NEW_YORK) == f"d:{day.isoformat()}"
    yesterday = day - dt.timedelta(days=1)
    assert window_key(CapWindow.DAY, midnight - TINY, NEW_YORK) == f"d:{yesterday.isoformat()}"
    assert window_end(CapWindow.DAY, midnight - TINY, NEW_YORK) == midnight


@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2032, 12, 31)))
def test_week_key_changes_exactly_at_local_monday_midnight(day: dt.date) -> None:
    midnight = local_midnight(day, NEW_YORK)
    before = window_key(CapWindow.WEEK, midnight - TINY, NEW_YORK)
    after = window_key(CapWindow.WEEK, midnight, NEW_YORK)
    monday = day - dt.timedelta(days=day.weekday())
    assert after == f"w:{monday.isoformat()}"
    assert (before != after) == (day.weekday() == 0)


@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2032, 12, 31)))
def test_month_key_changes_exactly_on_the_first(day: dt.date) -> None:
    midnight = local_midnight(day, NEW_YORK)
    before = window_key(CapWindow.MONTH, midnight - TINY, NEW_YORK)
    after = window_key(CapWindow.MONTH, midnight, NEW_YORK)
    assert after == f"m:{day:%Y-%m}"
    assert (before != after) == (day.day == 1)


@given(st.sampled_from(["2026-03-08", "2026-11-01"]), st.integers(min_value=0, max_value=1499))
def test_new_york_dst_days_by_the_minute(day_text: str, minutes: int) -> None:
    day = dt.date.fromisoformat(day_text)
    start = local_midnight(day, NEW_YORK)
    end = local_midnight(day + dt.timedelta(days=1), NEW_YORK)
    now = start + dt.timedelta(minutes=minutes)
    expected = f"d:{day_text}" if now < end else f"d:{day + dt.timedelta(days=1)}"
    assert window_key(CapWindow.DAY, now, NEW_YORK) == expected
    if now < end:
        assert window_end(CapWindow.DAY, now, NEW_YORK) == end


# --- charges -------------------------------------------------------------------------------


def make_order(*caps: Cap, timezone: str = NEW_YORK, buyer_id: str = "b-1") -> Order:
    return Order(
        id="o-1",
        buyer_id=buyer_id,
        vertical_id="auto",
        name="Order 1",
        status=OrderStatus.ACTIVE,
        pricing=Pricing(kind=PricingKind.FIXED, exclusive=Decimal("25.00")),
        caps=caps,
        timezone=timezone,
    )


def test_cap_amount() -> None:
    assert cap_amount(Cap(CapKind.COUNT, CapWindow.DAY, 10), Decimal("25.50")) == 1
    assert cap_amount(Cap(CapKind.SPEND, CapWindow.DAY, 10_000), Decimal("25.50")) == 2550
    with pytest.raises(ValueError, match="cents"):
        cap_amount(Cap(CapKind.SPEND, CapWindow.DAY, 10_000), Decimal("25.505"))


def test_charges_for_order_and_budget_caps_in_their_own_time_zones() -> None:
    order = make_order(
        Cap(CapKind.COUNT, CapWindow.DAY, 100),
        Cap(CapKind.SPEND, CapWindow.DAY, 50_000),
        Cap(CapKind.COUNT, CapWindow.TOTAL, 5_000),
    )
    buyer = Buyer(
        id="b-1",
        name="Buyer",
        caps=(Cap(CapKind.SPEND, CapWindow.MONTH, 1_000_000),),
        timezone="Pacific/Auckland",
    )
    now = utc(2026, 11, 30, 12)  # 07:00 Monday 30 Nov in New York; 01:00 Tue 1 Dec in Auckland
    charges = charges_for(order, buyer, Decimal("25.50"), now)
    assert charges == (
        CapCharge("order:o-1", "count:d:2026-11-30", 100, 1, utc(2026, 12, 1, 5), False),
        CapCharge("order:o-1", "spend:d:2026-11-30", 50_000, 2550, utc(2026, 12, 1, 5), False),
        CapCharge("order:o-1", "count:t", 5_000, 1, None, False),
        # Auckland's January begins at 00:00 NZDT (UTC+13) on 1 January
        CapCharge("buyer:b-1", "spend:m:2026-12", 1_000_000, 2550, utc(2026, 12, 31, 11), True),
    )


def test_count_and_spend_on_the_same_window_never_share_a_counter() -> None:
    order = make_order(Cap(CapKind.COUNT, CapWindow.HOUR, 5), Cap(CapKind.SPEND, CapWindow.HOUR, 5))
    charges = charges_for(order, Buyer(id="b-1", name="B"), Decimal("1.00"), utc(2026, 1, 1))
    assert len({(c.scope, c.window_key) for c in charges}) == 2


def test_no_caps_no_charges() -> None:
    assert (
        charges_for(make_order(), Buyer(id="b-1", name="B"), Decimal("1.00"), utc(2026, 1, 1)) == ()
    )


def test_charges_for_refuses_another_buyers_order() -> None:
    with pytest.raises(ValueError, match="belongs to buyer"):
        charges_for(make_order(), Buyer(id="b-2", name="B"), Decimal("1.00"), utc(2026, 1, 1))


def test_fits() -> None:
    charge = CapCharge("order:o-1", "spend:d:2026-11-30", 10_000, 2_500, None, False)
    assert fits(charge, used=7_500)
    assert fits(charge, used=5_000, held=2_500)
    assert not fits(charge, used=5_000, held=2_501)
    assert not fits(charge, used=7_501)
    count = CapCharge("order:o-1", "count:t", 1, 1, None, False)
    assert fits(count, used=0)
    assert not fits(count, used=0, held=1)


@given(
    st.integers(min_value=0, max_value=1_000),
    st.integers(min_value=1, max_value=100),
    st.integers(min_value=0, max_value=50),
)
def test_selling_while_it_fits_stops_at_the_limit(limit: int, amount: int, held: int) -> None:
    charge = CapCharge("order:o", "spend:t", limit, amount, None, False)
    used = 0
    while fits(charge, used, held):
        used += charge.amount
    assert used + held <= limit or used == 0
    assert used + held + amount > limit
