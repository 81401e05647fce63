"""The buyer portal in a real browser (Debian's chromium): a buyer's user signs in, sees its
orders and their cap use, pauses and resumes one, opens a lead it bought with its contact
details and downloads the CSV. Writes ``buyer-portal.png`` where ``PINGTREE_SCREENSHOTS``
says (``docs/screenshots`` to refresh the committed one)."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pingtree.mockbuyer import MockBuyer
from tests.api.market import PING, Market
from tests.support.buyers import running_buyers
from tests.web.conftest import PASSWORD
from tests.web.test_buyer_portal import ALPHA_PEOPLE, ENDPOINTS, buyer_user, buyers_config, sold_to


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PINGTREE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(ENDPOINTS) as running:
        yield running


def test_a_buyer_signs_in_pauses_an_order_opens_a_lead_and_downloads_its_leads(
    page: Page, market: Market, mock: MockBuyer, screenshots: Path, tmp_path: Path
) -> None:
    market.apply(buyers_config(mock))
    bought = [sold_to(market, PING, person)[0] for person in ALPHA_PEOPLE]
    buyer_user(market, "bea", "alpha")
    base = str(market.http.base_url).rstrip("/")

    page.goto(f"{base}/ui")
    page.get_by_label("Username").fill("bea")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/my-orders$"))
    order = page.locator("#order-alpha_fl")
    expect(order).to_contain_text("Mon–Sun 09:00–17:00 (America/New_York)")
    expect(order.locator("table.caps tbody tr").first).to_contain_text("count per day")
    expect(order.locator("meter")).to_have_attribute("value", "2")
    expect(page.locator("body")).not_to_contain_text("Bravo")
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link")).to_have_text(
        [
            "Delivery log",
            "Party keys",
            "My orders",
            "Bought leads",
            "Invoices",
            "Returns",
            "My account",
        ]
    )
    page.screenshot(path=screenshots / "buyer-portal.png", full_page=True)

    page.get_by_role("button", name="Pause order alpha_fl").click()
    expect(page.locator("#order-alpha_fl .badge").first).to_have_text("paused")
    assert sold_to(market, PING, {**ALPHA_PEOPLE[0], "phone": "(305) 555-0121"})[1] == "bravo"
    page.get_by_role("button", name="Resume order alpha_fl").click()
    expect(page.locator("#order-alpha_fl .badge").first).to_have_text("active")
    assert sold_to(market, PING, {**ALPHA_PEOPLE[0], "phone": "(305) 555-0122"})[1] == "alpha"

    page.get_by_role("link", name="Bought leads").click()
    page.get_by_role("link", name=bought[0]).click()
    expect(page.locator("dl.facts")).to_contain_text(ALPHA_PEOPLE[0]["email"])
    expect(page.locator("dl.facts")).to_contain_text(ALPHA_PEOPLE[0]["first_name"])

    page.get_by_role("link", name="All bought leads").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("leads-alpha-")
    saved = tmp_path / "leads.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert set(bought) < {r["lead_id"] for r in rows}
    assert {p["email"] for p in ALPHA_PEOPLE} <= {r["email"] for r in rows}
    assert len(rows) == 3  # the two bought first and the one after resuming
