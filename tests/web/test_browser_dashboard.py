"""The dashboard in a real browser: its figures follow the traffic, its charts draw; the
reports page groups the same figures and downloads them."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.api.market import Market, buyer, marketplace, order
from tests.reports.mix import TX, mix_config
from tests.web.test_browser import sign_in


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: ``PINGTREE_SCREENSHOTS`` (``docs/screenshots`` to refresh the
    committed ones), else the test's temporary directory."""
    folder = Path(os.environ.get("PINGTREE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def figure(page: Page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"] dd').inner_text()


def test_the_dashboard_counts_a_new_sale(page: Page, market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    assert market.sell()["status"] == "sold"
    sign_in(page, market, "ana")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("link", name="Today")).to_have_attribute("aria-current", "page")
    sold, revenue = int(figure(page, "sold")), Decimal(figure(page, "revenue"))
    assert (sold, revenue) == (1, Decimal("25.00"))

    pinged = market.ping()
    assert pinged["status"] == "accepted", pinged
    posted = market.post(pinged["ping_id"])
    assert posted["status"] == "sold", posted

    # the seller is told its payout; the dashboard's revenue is the buyer's price
    (sale,) = market.lead(posted["lead_id"])["sales"]
    page.reload()
    expect(page.locator('[data-figure="sold"] dd')).to_have_text(str(sold + 1))
    expect(page.locator('[data-figure="revenue"] dd')).to_have_text(
        f"{revenue + Decimal(sale['revenue']):.2f}"
    )
    expect(page.locator('[data-figure="pings"] dd')).to_have_text("2")
    expect(page.locator('[data-figure="posts"] dd')).to_have_text("2")
    expect(page.locator("section", has_text="Latest leads").locator("tbody tr")).to_have_count(2)


def test_a_week_of_traffic_in_charts(page: Page, market: Market, screenshots: Path) -> None:
    market.apply(mix_config())
    now = market.clock.now()
    sales = [(None, "acme_auto"), (TX, "acme_auto"), (None, "acme_shared"), (TX, "beta_auto")]
    for days_ago in range(6, -1, -1):
        for hour, (fields, campaign_id) in enumerate(sales[: 1 + (days_ago * 5) % 4]):
            market.clock.set(now - dt.timedelta(days=days_ago, hours=hour + 1))
            assert market.sell(fields, campaign_id)["status"] == "sold"
    market.clock.set(now)

    sign_in(page, market, "ada")
    page.get_by_role("link", name="7 days").click()
    expect(page).to_have_url(re.compile(r"period=7d$"))
    over_time = page.get_by_role("img", name="Revenue, cost and profit over time")
    expect(over_time).to_be_visible()
    expect(over_time).to_contain_text("Nov 17")
    expect(page.get_by_role("img", name="Revenue and profit by supplier")).to_contain_text("beta")
    expect(page.get_by_role("img", name="Revenue and profit by buyer")).to_contain_text("texan")
    page.set_viewport_size({"width": 1200, "height": 1100})
    page.screenshot(path=screenshots / "dashboard.png")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Reports").click()
    page.get_by_label("Group by").select_option("buyer")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"by=buyer"))
    expect(page.locator('#breakdown tr[data-key="texan"]')).to_contain_text("240.00")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "breakdown-buyer-2026-11-17.csv"
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("buyer,pings,accepted_pings,leads,")
    # pings, accepted, leads, posts, sold, sales, returned, gross revenue, returns, revenue
    assert lines[1].startswith("texan,0,0,6,0,6,6,0,240.00,0.00,240.00,")
