"""The reports page and the dashboard by the days of a time zone: presets, a totals row to
the cent, columns sorted by their header links (no script), a bad zone named."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from pingtree.store.db import create_engine, session_factory
from pingtree.store.users import UserRepository
from tests.api.market import Market
from tests.reports.test_time_zones import NEW_YORK, _sell_all
from tests.web.conftest import PASSWORD, in_thread
from tests.web.test_config_pages import signed_in

_CELLS = re.compile(r'<td class="num">([^<]*)</td>')


def _keys(html: str) -> list[str]:
    return re.findall(r'<tr data-key="([^"]+)">', html)


def test_yesterday_in_new_york_by_buyer_with_its_total(market: Market) -> None:
    _sell_all(market)
    http = signed_in(market)
    answer = http.get("/ui/reports", params={"period": "yesterday", "tz": NEW_YORK, "by": "buyer"})
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert "2026-11-01 to 2026-11-01 (days of America/New_York)" in html
    assert _keys(html) == ["b2", "b1"]  # highest revenue first
    total = html[html.index('id="total"') :]
    total = total[: total.index("</tr>")]
    # leads delivered, sold, acceptance, returned, return rate, gross revenue, returns, net
    # revenue, gross cost, chargebacks, net cost, net profit
    cells = _CELLS.findall(total)
    assert cells[0:2] == ["2", "2"]
    assert cells[5:8] == ["43.20", "0.00", "43.20"]
    assert 'aria-current="page">Yesterday<' in html

    # in UTC the same day holds other leads
    utc = http.get("/ui/reports", params={"period": "yesterday", "tz": "UTC", "by": "buyer"}).text
    assert _keys(utc) == ["b1", "b0"]


def test_headers_sort_the_rows(market: Market) -> None:
    _sell_all(market)
    http = signed_in(market)
    params = {"from": "2026-10-31", "to": "2026-11-02", "tz": NEW_YORK, "by": "buyer"}
    html = http.get("/ui/reports", params=params).text
    assert _keys(html) == ["b3", "b2", "b1", "b0"]
    link = re.search(
        r'<a href="([^"]+)" class="sort current" aria-sort="descending">Net revenue', html
    )
    assert link, html
    ascending = http.get(link.group(1).replace("&amp;", "&"))
    assert _keys(ascending.text) == ["b0", "b1", "b2", "b3"]
    assert "Net revenue ▲" in ascending.text
    by_key = http.get("/ui/reports", params={**params, "sort": "-key"}).text
    assert _keys(by_key) == ["b3", "b2", "b1", "b0"]
    csv = http.get("/ui/reports.csv", params={**params, "sort": "revenue"}).text
    assert [line.split(",")[0] for line in csv.splitlines()[1:]] == ["b0", "b1", "b2", "b3"]


def test_a_bad_time_zone_or_sort_is_named(market: Market) -> None:
    http = signed_in(market)
    bad = http.get("/ui/reports", params={"tz": "Mars/Olympus"})
    assert bad.status_code == 400
    assert "tz: unknown time zone &#39;Mars/Olympus&#39;" in bad.text
    bad = http.get("/ui/reports", params={"sort": "price"})
    assert bad.status_code == 400
    assert "sort: one of key" in bad.text


def test_the_dashboards_presets(market: Market) -> None:
    _sell_all(market)
    http = signed_in(market)
    for period in ("yesterday", "this_month", "last_month"):
        answer = http.get("/ui", params={"period": period})
        assert answer.status_code == 200, answer.text
        assert "(days of UTC)" in answer.text
    last_month = http.get("/ui", params={"period": "last_month"}).text
    assert "2026-10-01 to 2026-10-31" in last_month


def test_a_users_own_time_zone_is_the_default(market: Market) -> None:
    async def create() -> None:
        engine = create_engine(market.settings.resolved_database_url())
        try:
            async with session_factory(engine).begin() as session:
                await UserRepository(session).create(
                    "nina", PASSWORD, "analyst", dt.datetime.now(dt.UTC), time_zone=NEW_YORK
                )
        finally:
            await engine.dispose()

    in_thread(lambda: asyncio.run(create()))
    _sell_all(market)
    http = signed_in(market, "nina")
    html = http.get("/ui/reports", params={"period": "yesterday", "by": "buyer"}).text
    assert "(days of America/New_York)" in html
    assert _keys(html) == ["b2", "b1"]
    dashboard = http.get("/ui", params={"period": "yesterday"}).text
    assert "(days of America/New_York)" in dashboard
    # the form's zone wins over the user's
    utc = http.get("/ui/reports", params={"period": "yesterday", "by": "buyer", "tz": "UTC"})
    assert _keys(utc.text) == ["b1", "b0"]
