"""The configuration pages in a real browser: a new buyer and order made through the forms
win the next lead, which the leads page then shows with its trace."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.api.market import Market, marketplace
from tests.web.conftest import PASSWORD


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: ``PINGTREE_SCREENSHOTS`` (``docs/screenshots`` to refresh the
    committed ones), else the test's temporary directory."""
    folder = Path(os.environ.get("PINGTREE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_buyer_and_order_made_in_the_forms_buy_the_next_lead(
    page: Page, market: Market, screenshots: Path
) -> None:
    market.apply(marketplace([]))
    base = str(market.http.base_url).rstrip("/")

    page.goto(f"{base}/ui/buyers")
    page.get_by_label("Username").fill("otto")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/buyers$"))

    page.get_by_role("link", name="New buyer").click()
    page.get_by_label("Id", exact=True).fill("harbor")
    page.get_by_label("Name", exact=True).fill("Harbor Insurance")
    page.get_by_role("button", name="Create buyer").click()
    expect(page.get_by_role("status")).to_have_text("Created. The next ping uses it.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Harbor Insurance")

    page.get_by_role("link", name="New order").click()
    page.get_by_label("Id", exact=True).fill("harbor_fl")
    page.get_by_label("Vertical").select_option("auto")
    page.get_by_label("Pricing").select_option("fixed")
    page.get_by_label("Exclusive price").fill("abc")
    page.get_by_label("Caps").fill("- {kind: count, window: day, limit: 50}")
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_role("alert")).to_contain_text("pricing.exclusive")
    page.get_by_label("Exclusive price").fill("21.50")
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_role("status")).to_contain_text("Created.")

    expect(page.get_by_role("heading", level=1)).to_contain_text("harbor_fl")
    expect(page.locator("#pricing")).to_contain_text("fixed 21.50")
    expect(page.locator("#caps tbody tr")).to_contain_text("count per day")
    page.set_viewport_size({"width": 1100, "height": 800})
    page.screenshot(path=screenshots / "order.png")

    sold = market.sell()  # a ping and a post with a campaign key from the admin API
    assert sold["status"] == "sold", sold
    page.get_by_role("link", name="Leads").click()
    page.get_by_label("Sold to buyer").fill("harbor")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=sold["lead_id"]).click()
    expect(page.locator("#sales")).to_contain_text("harbor_fl")
    winner = page.locator("table.candidates tr", has_text="harbor_fl")
    expect(winner).to_contain_text("winner")
    expect(winner).to_contain_text("21.50")

    page.goto(f"{base}/ui/orders/harbor_fl")
    expect(page.locator("#caps meter")).to_have_attribute("title", "1 used, 0 held of 50")
