"""The supplier portal in a real browser: an affiliate's user signs in, finds its campaign and
reads its posting instructions, makes a key on the keys page, sends a test lead through the
seller API with it, and sees it in its leads and its figures; never another supplier's
campaign or a buyer's name or price. Writes the portal's screenshot
(``supplier-portal.png``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.api.market import CONTACT, PING, Market
from tests.web.test_browser import sign_in, url
from tests.web.test_supplier_portal import HIDDEN, _config, _user


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """``PINGTREE_SCREENSHOTS`` (``docs/screenshots`` to refresh the committed ones), else
    the test's temporary directory."""
    folder = Path(os.environ.get("PINGTREE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_affiliate_reads_its_instructions_makes_a_key_and_sends_a_test_lead(
    page: Page, market: Market, screenshots: Path
) -> None:
    market.apply(_config())
    _user(market, "sam", supplier_id="northwind")
    sign_in(page, market, "sam", "/ui/my-campaigns")
    expect(page).to_have_url(re.compile(r"/ui/my-campaigns$"))
    expect(page.get_by_role("heading", name="Sandbox: test mode")).to_be_visible()

    page.get_by_role("link", name="Read").first.click()
    expect(page).to_have_url(re.compile(r"/ui/campaigns/northwind_auto/instructions$"))
    expect(page.locator("#examples")).to_be_visible()

    page.goto(url(market, "/ui/keys"))
    page.get_by_label("New key for").select_option("northwind_auto")
    page.get_by_label("Name").fill("my site")
    page.get_by_role("button", name="Create key").click()
    field = page.get_by_label("Key", exact=True)
    expect(field).to_have_value(re.compile(r"^pt_[0-9a-f]{16}_"))
    token = field.input_value()

    seller = {"Authorization": f"Bearer {token}"}
    pinged = httpx.post(
        url(market, "/api/v1/ping"), json={"fields": PING, "test": True}, headers=seller
    )
    assert pinged.status_code == 200, pinged.text
    lead = httpx.post(
        url(market, "/api/v1/leads"),
        json={"fields": {**PING, **CONTACT}, "test": True},
        headers=seller,
    )
    assert lead.status_code == 200, lead.text
    lead_id = lead.json()["lead_id"]

    page.goto(url(market, "/ui/leads"))
    expect(page.locator("tr", has_text=lead_id)).to_contain_text("test")
    page.goto(url(market, "/ui/keys"))
    expect(page.locator("tr", has_text="my site")).not_to_contain_text("never")

    page.goto(url(market, "/ui/my-campaigns"))
    expect(page.locator("tr", has_text="Northwind auto")).to_contain_text("1 key")
    page.get_by_label("test traffic").check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"test=true"))
    # its test ping and its test lead, in its figures of today
    row = page.locator("#figures tbody tr", has_text="northwind_auto")
    expect(row.locator("td").nth(3)).to_have_text("1")
    expect(row.locator("td").nth(6)).to_have_text("1")
    text = page.content()
    assert not [word for word in HIDDEN if word in text]
    page.screenshot(path=screenshots / "supplier-portal.png", full_page=True)
