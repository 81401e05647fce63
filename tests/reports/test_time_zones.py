"""Reports by the days of a time zone (``tz``), across a DST change, on either engine; the
yesterday / this month / last month presets; a breakdown's totals and sorting.

America/New_York leaves daylight saving time on 2026-11-01 at 06:00 UTC: its 1 November is
25 hours long, from 04:00 UTC to 05:00 UTC the next day. Leads are sold either side of each
local midnight, so UTC days and New York days count them differently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pingtree.domain.report_days import offset_spans, period_bounds, time_zone
from tests.api.market import Market, buyer, campaign, marketplace, order

NEW_YORK = "America/New_York"
UTC = dt.UTC
#: when each lead is sold (UTC), its New York day, and its price
SALES = [
    (dt.datetime(2026, 11, 1, 3, 30, tzinfo=UTC), "2026-10-31", "20.00"),  # 23:30 EDT
    (dt.datetime(2026, 11, 1, 4, 30, tzinfo=UTC), "2026-11-01", "21.15"),  # 00:30 EDT
    (dt.datetime(2026, 11, 2, 4, 30, tzinfo=UTC), "2026-11-01", "22.05"),  # 23:30 EST
    (dt.datetime(2026, 11, 2, 5, 30, tzinfo=UTC), "2026-11-02", "23.35"),  # 00:30 EST
]
NOW = dt.datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # noon in New York


def _sell_all(market: Market) -> None:
    orders = [order(f"o{i}", price) for i, (_, _, price) in enumerate(SALES)]
    # one order per price: each lead goes to the highest price still without its lead
    market.apply(marketplace([buyer(f"b{i}", o) for i, o in enumerate(orders)], [campaign()]))
    for i, (moment, _, _) in enumerate(SALES):
        # only the order of this price is active when its lead sells
        active = [
            buyer(f"b{j}", {**o, "status": "active" if j == i else "paused"})
            for j, o in enumerate(orders)
        ]
        market.apply(marketplace(active, [campaign()]))
        market.clock.set(moment)
        answer = market.sell()
        assert answer["status"] == "sold", answer
    market.clock.set(NOW)


def _get(market: Market, path: str, **params: Any) -> Any:
    answer = market.http.get(f"/api/v1/admin/reports/{path}", headers=market.admin, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _days(points: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    return {p["start"][:10]: (p["sold"], p["revenue"]) for p in points}


def test_days_begin_at_local_midnight_across_a_dst_change(market: Market) -> None:
    _sell_all(market)
    params = {"from": "2026-10-31T00:00:00", "to": "2026-11-03T00:00:00", "bucket": "day"}
    local = _get(market, "timeseries", tz=NEW_YORK, **params)
    assert [p["start"] for p in local["points"]] == [
        "2026-10-31T00:00:00-04:00",
        "2026-11-01T00:00:00-04:00",
        "2026-11-02T00:00:00-05:00",
    ]
    assert _days(local["points"]) == {
        "2026-10-31": (1, "20.00"),
        "2026-11-01": (2, "43.20"),
        "2026-11-02": (1, "23.35"),
    }
    # the same leads by UTC days
    utc = _get(market, "timeseries", **params)
    assert _days(utc["points"]) == {
        "2026-10-31": (0, "0.00"),
        "2026-11-01": (2, "41.15"),
        "2026-11-02": (2, "45.40"),
    }


def test_the_hours_of_a_25_hour_day(market: Market) -> None:
    _sell_all(market)
    hours = _get(
        market,
        "timeseries",
        tz=NEW_YORK,
        bucket="hour",
        **{"from": "2026-11-01T00:00:00", "to": "2026-11-02T00:00:00"},
    )["points"]
    assert len(hours) == 25
    assert hours[0]["start"] == "2026-11-01T00:00:00-04:00"
    assert hours[1]["start"] == "2026-11-01T01:00:00-04:00"
    assert hours[2]["start"] == "2026-11-01T01:00:00-05:00"  # the repeated hour
    assert hours[-1]["start"] == "2026-11-01T23:00:00-05:00"
    sold = {p["start"]: p["revenue"] for p in hours if p["sold"]}
    assert sold == {"2026-11-01T00:00:00-04:00": "21.15", "2026-11-01T23:00:00-05:00": "22.05"}


def test_presets_in_a_time_zone(market: Market) -> None:
    _sell_all(market)
    yesterday = _get(market, "summary", period="yesterday", tz=NEW_YORK)
    assert yesterday["start"] == "2026-11-01T00:00:00-04:00"
    assert yesterday["end"] == "2026-11-02T00:00:00-05:00"
    assert (yesterday["sold"], yesterday["revenue"]) == (2, "43.20")
    today = _get(market, "summary", period="today", tz=NEW_YORK)
    assert (today["sold"], today["revenue"]) == (1, "23.35")
    utc_today = _get(market, "summary", period="today")
    assert (utc_today["sold"], utc_today["revenue"]) == (2, "45.40")
    this_month = _get(market, "summary", period="this_month", tz=NEW_YORK)
    assert (this_month["sold"], this_month["revenue"]) == (3, "66.55")
    last_month = _get(market, "summary", period="last_month", tz=NEW_YORK)
    assert last_month["start"] == "2026-10-01T00:00:00-04:00"
    assert (last_month["sold"], last_month["revenue"]) == (1, "20.00")


def test_a_breakdown_has_a_total_and_sorts(market: Market) -> None:
    _sell_all(market)
    span = {"from": "2026-10-31T00:00:00", "to": "2026-11-03T00:00:00", "tz": NEW_YORK}
    by_buyer = _get(market, "breakdown", by="buyer", **span)
    assert [row["key"] for row in by_buyer["rows"]] == ["b3", "b2", "b1", "b0"]
    assert by_buyer["total"]["revenue"] == "86.55"
    assert by_buyer["total"]["sold"] == 4
    ascending = _get(market, "breakdown", by="buyer", sort="revenue", **span)
    assert [row["key"] for row in ascending["rows"]] == ["b0", "b1", "b2", "b3"]
    by_key = _get(market, "breakdown", by="buyer", sort="-key", **span)
    assert [row["key"] for row in by_key["rows"]] == ["b3", "b2", "b1", "b0"]
    by_supplier = _get(market, "breakdown", by="supplier", **span)
    assert by_supplier["total"]["cost"] == by_supplier["rows"][0]["cost"]


def test_bad_tz_and_sort_are_named(market: Market) -> None:
    for path, params, loc in [
        ("summary", {"tz": "Mars/Olympus"}, ["query", "tz"]),
        ("summary", {"tz": "../../etc/passwd"}, ["query", "tz"]),
        ("timeseries", {"tz": ""}, ["query", "tz"]),
        ("breakdown", {"by": "buyer", "sort": "price"}, ["query", "sort"]),
    ]:
        answer = market.http.get(
            f"/api/v1/admin/reports/{path}", headers=market.admin, params=params
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == loc, answer.text


def test_offsets_and_bounds_without_a_database() -> None:
    zone = time_zone(NEW_YORK)
    spans = offset_spans(
        dt.datetime(2026, 10, 30, tzinfo=UTC), dt.datetime(2026, 11, 5, tzinfo=UTC), zone
    )
    assert [(s.since, s.offset) for s in spans] == [
        (None, dt.timedelta(hours=-4)),
        (dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC), dt.timedelta(hours=-5)),
    ]
    # spring forward: 8 March 2026 is 23 hours long
    start, end = period_bounds("yesterday", dt.datetime(2026, 3, 9, 15, tzinfo=UTC), zone)
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=23)
    # a zone whose clocks jump at midnight: the day starts at 01:00
    santiago = time_zone("America/Santiago")
    start, _ = period_bounds("today", dt.datetime(2026, 9, 6, 15, tzinfo=UTC), santiago)
    assert start.astimezone(santiago).hour == 1
