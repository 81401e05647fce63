"""Every report figure against the sales, leads and pings in the database, to the cent."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.market import Market
from tests.reports.mix import (
    FRIDAY,
    MONDAY_MORNING,
    NOTHING,
    OCTOBER,
    Traffic,
    by_bucket,
    by_key,
    figures,
    load_traffic,
    run_mix,
)

TODAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
TOMORROW = TODAY + dt.timedelta(days=1)
PERIODS = {
    "today": (TODAY, TOMORROW),
    "7d": (TODAY - dt.timedelta(days=6), TOMORROW),
    "30d": (TODAY - dt.timedelta(days=29), TOMORROW),
}
DIMENSIONS = {
    "supplier": ("supplier_id", True),
    "campaign": ("campaign_id", True),
    "vertical": ("vertical_id", True),
    "buyer": ("buyer_id", False),
    "order": ("order_id", False),
}
FIGURE_NAMES = list(figures(NOTHING))
MONEY = {"gross_revenue", "returns", "revenue", "gross_cost", "chargebacks", "cost", "profit"}


@pytest.fixture
async def traffic(market: Market, db: async_sessionmaker[AsyncSession]) -> Traffic:
    await run_mix(market, db)
    return await load_traffic(db)


def report(market: Market, name: str, **params: Any) -> Any:
    response = market.http.get(f"/api/v1/admin/reports/{name}", params=params, headers=market.admin)
    assert response.status_code == 200, response.text
    return response.json()


def only_figures(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in FIGURE_NAMES}


def test_todays_dashboard_in_plain_numbers(market: Market, traffic: Traffic) -> None:
    today = report(market, "summary")
    # three sold leads: bravo 17.00 + acorn 9.00 shared (payout 60 %), shield 25.00 (payout
    # 70 %: 17.50) returned today, texan 40.00 (payout 8.00); the refused sale and the test
    # sale count for nothing. Two returns approved today, each crediting 25.00 and charging
    # 17.50 back: today's and Friday's (whose sale counts on Friday)
    assert only_figures(today) == {
        "pings": 6,
        "accepted_pings": 5,
        "leads": 5,
        "posts": 4,
        "sold": 3,
        "sales": 4,
        "returned": 2,
        "gross_revenue": "91.00",
        "returns": "50.00",
        "revenue": "41.00",
        "gross_cost": "41.10",
        "chargebacks": "35.00",
        "cost": "6.10",
        "profit": "34.90",
        "acceptance_rate": 0.8333,
        "conversion": 0.8,
        "sell_rate": 0.6,
        "return_rate": 0.5,
    }
    assert (today["start"], today["end"], today["test"]) == (
        "2026-11-23T00:00:00Z",
        "2026-11-24T00:00:00Z",
        False,
    )


@pytest.mark.parametrize("period", PERIODS)
def test_summary_matches_the_database(market: Market, traffic: Traffic, period: str) -> None:
    start, end = PERIODS[period]
    assert only_figures(report(market, "summary", period=period)) == figures(
        traffic.within(start, end)
    )


def test_a_custom_range_and_test_traffic(market: Market, traffic: Traffic) -> None:
    start, end = OCTOBER, FRIDAY + dt.timedelta(minutes=1)
    summary = report(market, "summary", **{"from": start.isoformat(), "to": end.isoformat()})
    assert only_figures(summary) == figures(traffic.within(start, end))
    # October's 25.00, Friday's 25.00 (returned only today) and 40.00
    assert (summary["gross_revenue"], summary["revenue"]) == ("90.00", "90.00")

    tests = report(market, "summary", period="today", test="true")
    assert only_figures(tests) == figures(traffic.within(TODAY, TOMORROW, test=True))
    assert (tests["sales"], tests["revenue"], tests["cost"]) == (1, "1.00", "0.70")


def test_daily_series_matches_the_database(market: Market, traffic: Traffic) -> None:
    series = report(market, "timeseries", period="7d", bucket="day")
    expected = by_bucket(traffic.within(*PERIODS["7d"]), lambda t: f"{t:%Y-%m-%d}")
    assert [p["start"] for p in series["points"]] == [
        f"2026-11-{day}T00:00:00Z" for day in range(17, 24)
    ]
    for point in series["points"]:
        day = point["start"][:10]
        assert only_figures(point) == expected.get(day, figures(NOTHING)), day
    assert (
        sum(p["pings"] for p in series["points"]) == report(market, "summary", period="7d")["pings"]
    )


def test_hourly_series_matches_the_database(market: Market, traffic: Traffic) -> None:
    series = report(market, "timeseries", period="today", bucket="hour")
    points = series["points"]
    assert len(points) == 24
    expected = by_bucket(traffic.within(TODAY, TOMORROW), lambda t: f"{t:%H}")
    busy = {p["start"][11:13]: only_figures(p) for p in points if p["pings"] or p["leads"]}
    assert busy == expected
    assert set(busy) == {f"{MONDAY_MORNING:%H}", "15"}


def test_series_as_csv(market: Market, traffic: Traffic) -> None:
    response = market.http.get(
        "/api/v1/admin/reports/timeseries",
        params={"period": "7d", "format": "csv"},
        headers=market.admin,
    )
    assert response.status_code == 200
    lines = list(csv.DictReader(io.StringIO(response.text)))
    points = report(market, "timeseries", period="7d")["points"]
    assert [line["start"] for line in lines] == [p["start"].replace("Z", "+00:00") for p in points]
    assert [line["revenue"] for line in lines] == [p["revenue"] for p in points]


@pytest.mark.parametrize("by", DIMENSIONS)
def test_breakdown_matches_the_database(market: Market, traffic: Traffic, by: str) -> None:
    column, inbound = DIMENSIONS[by]
    start, end = PERIODS["30d"]
    rows = report(market, "breakdown", by=by, period="30d")["rows"]
    assert {row["key"]: only_figures(row) for row in rows} == by_key(
        traffic.within(start, end), column, inbound=inbound
    )
    revenues = [(-float(row["revenue"]), row["key"]) for row in rows]
    assert revenues == sorted(revenues)


def test_breakdown_by_buyer_in_plain_numbers(market: Market, traffic: Traffic) -> None:
    rows = report(market, "breakdown", by="buyer", period="today")["rows"]
    figures = ("key", "leads", "sold", "returned", "gross_revenue", "returns", "revenue", "cost")
    assert [tuple(r[name] for name in figures) for r in rows] == [
        ("texan", 1, 1, 0, "40.00", "0.00", "40.00", "8.00"),
        ("bravo", 1, 1, 0, "17.00", "0.00", "17.00", "10.20"),
        ("acorn", 1, 1, 0, "9.00", "0.00", "9.00", "5.40"),
        # one lead refused, one sold and returned, and Friday's returned: credited 50.00 for
        # 25.00 bought today, its supplier charged back 35.00 for 17.50 earned
        ("shield", 2, 1, 2, "25.00", "50.00", "-25.00", "-17.50"),
    ]
    shield = rows[-1]
    assert (shield["return_rate"], shield["gross_cost"], shield["chargebacks"]) == (
        2.0,
        "17.50",
        "35.00",
    )


@pytest.mark.parametrize("by", DIMENSIONS)
def test_breakdown_csv_parses_back_to_the_same_figures(
    market: Market, traffic: Traffic, by: str
) -> None:
    response = market.http.get(
        "/api/v1/admin/reports/breakdown",
        params={"by": by, "period": "30d", "format": "csv"},
        headers=market.admin,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    rows = report(market, "breakdown", by=by, period="30d")["rows"]
    assert [line[by] for line in lines] == [row["key"] for row in rows]
    assert [_typed(line) for line in lines] == [only_figures(row) for row in rows]


def _typed(line: dict[str, str]) -> dict[str, Any]:
    """A CSV line's figures read back as the JSON gives them."""

    def read(name: str, text: str) -> Any:
        if name in MONEY:
            return text
        if name.endswith("rate") or name == "conversion":
            return float(text) if text else None
        return int(text)

    return {name: read(name, line[name]) for name in FIGURE_NAMES}
