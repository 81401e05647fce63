"""The dashboard and the reports page over plain HTTP: their figures are the reports', to the
cent, for a known mix of traffic; the CSV is the API's; bad input is a 400 page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store import reports
from pingtree.store.db import create_engine, session_factory
from pingtree.store.tables import AttemptRow
from tests.api.market import Market
from tests.reports.mix import Traffic, by_key, figures, load_traffic, run_mix
from tests.reports.test_buyers_and_caps import attempt
from tests.web.session import sign_in

TODAY = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
_TILE = re.compile(r'data-figure="(\w+)"[^>]*><dt>[^<]*</dt><dd>([^<]*)</dd>')
_CELLS = re.compile(r'<td class="num">([^<]*)</td>')


@pytest.fixture
async def db(market: Market) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(market.settings.resolved_database_url())
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def traffic(market: Market, db: async_sessionmaker[AsyncSession]) -> Traffic:
    await run_mix(market, db)
    return await load_traffic(db)


def signed_in(market: Market, username: str = "ana") -> httpx.Client:
    assert sign_in(market.http, username).status_code == 303
    return market.http


def page(http: httpx.Client, path: str, **params: str) -> str:
    answer = http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


def tiles(html: str) -> dict[str, str]:
    return dict(_TILE.findall(html))


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"


def money_cells(row: dict[str, Any]) -> list[str]:
    """A row's cells after its leads and sales: returned, return rate, the money gross and
    net of returns."""
    return [
        str(row["returned"]),
        percent(row["return_rate"]),
        *(
            row[name]
            for name in (
                "gross_revenue",
                "returns",
                "revenue",
                "gross_cost",
                "chargebacks",
                "cost",
                "profit",
            )
        ),
    ]


def table_row(html: str, key: str) -> list[str]:
    row = html[html.index(f'<tr data-key="{key}">') :]
    return _CELLS.findall(row[: row.index("</tr>")])


@pytest.mark.parametrize(("period", "days"), [("today", 1), ("7d", 7), ("30d", 30)])
async def test_the_dashboard_shows_the_figures_of_its_period(
    market: Market, traffic: Traffic, db: async_sessionmaker[AsyncSession], period: str, days: int
) -> None:
    html = page(signed_in(market), "/ui", period=period)
    start, end = TODAY - dt.timedelta(days=days - 1), TODAY + dt.timedelta(days=1)
    by_hand = figures(traffic.within(start, end))
    async with db() as session:
        stored = await reports.summary(session, start, end)
    assert tiles(html) == {
        "pings": str(by_hand["pings"]),
        "posts": str(by_hand["posts"]),
        "sold": str(by_hand["sold"]),
        "acceptance_rate": percent(by_hand["acceptance_rate"]),
        "conversion": percent(by_hand["conversion"]),
        "gross_revenue": by_hand["gross_revenue"],
        "returns": by_hand["returns"],
        "revenue": by_hand["revenue"],
        "cost": by_hand["cost"],
        "profit": by_hand["profit"],
    }
    assert (tiles(html)["revenue"], tiles(html)["profit"]) == (
        f"{stored.revenue:.2f}",
        f"{stored.profit:.2f}",
    )
    assert '<a href="/ui?period=' + period + '" aria-current="page">' in html


async def test_todays_dashboard_in_plain_numbers_with_its_charts(
    market: Market, traffic: Traffic
) -> None:
    answer = signed_in(market).get("/ui")
    assert answer.status_code == 200
    # as the reports API's test reads them: the refused and test sales earn nothing; two
    # returns approved today are credited back, their payouts charged back
    assert tiles(answer.text) == {
        "pings": "6",
        "posts": "4",
        "sold": "3",
        "acceptance_rate": "83.3 %",
        "conversion": "80.0 %",
        "gross_revenue": "91.00",
        "returns": "50.00",
        "revenue": "41.00",
        "cost": "6.10",
        "profit": "34.90",
    }
    charts = re.findall(r'<svg role="img" aria-label="([^"]+)"', answer.text)
    assert charts == [
        "Revenue, cost and profit over time",
        "Revenue and profit by supplier",
        "Revenue and profit by buyer",
    ]
    assert "<script" not in answer.text
    assert "script-src" not in answer.headers["content-security-policy"]  # only 'self'
    assert ">09:00<" in answer.text  # hourly buckets today
    assert "Latest leads" in answer.text


async def test_a_breakdown_by_buyer_over_chosen_days(market: Market, traffic: Traffic) -> None:
    params = {"from": "2026-11-20", "to": "2026-11-23", "by": "buyer"}
    html = page(signed_in(market), "/ui/reports", **params)
    start, end = dt.datetime(2026, 11, 20, tzinfo=dt.UTC), TODAY + dt.timedelta(days=1)
    expected = by_key(traffic.within(start, end), "buyer_id", inbound=False)
    assert set(re.findall(r'<tr data-key="([^"]+)">', html)) == set(expected)
    for key, row in expected.items():
        assert table_row(html, key) == [
            str(row["leads"]),
            str(row["sold"]),
            percent(row["sell_rate"]),
            *money_cells(row),
        ]
    assert 'value="2026-11-20"' in html


async def test_the_last_seven_days_by_supplier_by_default(market: Market, traffic: Traffic) -> None:
    html = page(signed_in(market), "/ui/reports")
    assert 'name="from" value="2026-11-17"' in html
    assert 'name="to" value="2026-11-23"' in html
    expected = by_key(
        traffic.within(TODAY - dt.timedelta(days=6), TODAY + dt.timedelta(days=1)),
        "supplier_id",
        inbound=True,
    )
    acme = expected["acme"]
    assert table_row(html, "acme") == [
        str(acme["pings"]),
        percent(acme["acceptance_rate"]),
        str(acme["leads"]),
        str(acme["sold"]),
        percent(acme["sell_rate"]),
        *money_cells(acme),
    ]
    assert 'href="/ui/reports.csv?from=2026-11-17&amp;to=2026-11-23&amp;by=supplier"' in html


@pytest.mark.parametrize("by", ["supplier", "campaign", "buyer", "order", "vertical"])
async def test_the_csv_is_the_report_apis(market: Market, traffic: Traffic, by: str) -> None:
    mine = signed_in(market).get(
        "/ui/reports.csv", params={"from": "2026-10-20", "to": "2026-11-23", "by": by}
    )
    api = market.http.get(
        "/api/v1/admin/reports/breakdown",
        params={
            "by": by,
            "from": "2026-10-20T00:00:00Z",
            "to": "2026-11-24T00:00:00Z",
            "format": "csv",
        },
        headers=market.admin,
    )
    assert mine.status_code == api.status_code == 200
    assert mine.text == api.text
    assert len(mine.text.splitlines()) > 1
    for header in ("content-type", "content-disposition"):
        assert mine.headers[header] == api.headers[header]


async def test_buyers_response_times_and_timeout_rate(
    market: Market, db: async_sessionmaker[AsyncSession]
) -> None:
    at = market.clock.now()
    rows = [attempt("shield", "shield_fl", "ping", "bid", ms, at) for ms in (100, 200, 300)]
    rows.append(attempt("shield", "shield_fl", "ping", "timeout", 1000, at))
    async with db.begin() as session:
        await session.execute(insert(AttemptRow), rows)
    html = page(signed_in(market), "/ui/reports")
    buyers = html[html.index('id="buyers"') :]
    first = buyers[buyers.index('<tr class="total">') :]
    assert _CELLS.findall(first[: first.index("</tr>")]) == [
        "4",
        "400.0",
        "200",
        "1000",
        "1000",
        "1",
        "25.0 %",
        "0",
    ]
    assert "<td>all orders</td>" in first
    assert "<td>shield_fl</td>" in buyers


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/ui/reports", {"from": "yesterday"}, "from:"),
        ("/ui/reports", {"to": "2026-13-01"}, "to:"),
        ("/ui/reports", {"from": "2026-11-23", "to": "2026-11-20"}, "to: must not be before"),
        ("/ui/reports", {"from": "2024-01-01", "to": "2026-11-20"}, "to: at most 366 days"),
        ("/ui/reports", {"by": "colour"}, "by:"),
        ("/ui/reports.csv", {"from": "2026-11-23", "to": "2026-11-20"}, "to: must not be"),
        ("/ui", {"period": "week"}, "period:"),
    ],
)
def test_bad_input_is_a_page_naming_the_field(
    market: Market, path: str, params: dict[str, str], named: str
) -> None:
    answer = signed_in(market).get(path, params=params)
    assert answer.status_code == 400
    assert named in answer.text


def test_blank_dates_take_their_defaults(market: Market) -> None:
    html = page(signed_in(market), "/ui/reports", **{"from": "", "to": "", "by": "order"})
    assert 'name="from" value="2026-11-17"' in html
    assert "No traffic in these days." in html


@pytest.mark.parametrize("path", ["/ui", "/ui/reports", "/ui/reports.csv"])
def test_every_role_may_read_the_figures_and_nobody_signed_out(market: Market, path: str) -> None:
    answer = market.http.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?next=")
    for username in ("ana", "otto", "ada"):
        with httpx.Client(base_url=market.http.base_url, timeout=30) as browser:
            assert sign_in(browser, username).status_code == 303
            assert browser.get(path).status_code == 200
