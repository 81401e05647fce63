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

from tests.api.market import CONTACT, PING, Market, buyer, marketplace, order
from tests.web.conftest import PASSWORD
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


def test_onboarding_an_affiliate_from_the_operators_pages_to_its_first_test_lead(
    page: Page, market: Market
) -> None:
    """The operator makes the supplier, its campaign and a key in the UI, an admin its user;
    the affiliate signs in, reads its instructions, sends a test lead with the key and finds
    it in its leads and figures, sold to the test order only."""
    market.apply(
        marketplace(
            [
                buyer("shield", order("shield_fl", "25.00")),
                buyer("qa", order("qa_order", "1.00", test_mode=True)),
            ]
        )
    )
    sign_in(page, market, "otto", "/ui/suppliers/new")
    page.get_by_label("Id", exact=True).fill("harbor")
    page.get_by_label("Name", exact=True).fill("Harbor Leads")
    page.get_by_role("button", name="Create supplier").click()
    expect(page).to_have_url(re.compile(r"/ui/suppliers/harbor(\?notice=created)?$"))
    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Id", exact=True).fill("harbor_auto")
    page.get_by_label("Name", exact=True).fill("Harbor auto")
    page.get_by_label("Vertical").select_option("auto")
    page.get_by_label("Revenue share %").fill("70")
    page.get_by_role("button", name="Create campaign").click()
    expect(page).to_have_url(re.compile(r"/ui/campaigns/harbor_auto(\?notice=created)?$"))
    page.goto(url(market, "/ui/keys"))
    page.get_by_label("New key for").select_option("harbor_auto")
    page.get_by_label("Name").fill("harbor site")
    page.get_by_role("button", name="Create key").click()
    field = page.get_by_label("Key", exact=True)
    expect(field).to_have_value(re.compile(r"^pt_[0-9a-f]{16}_"))
    token = field.input_value()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, market, "ada", "/ui/users")
    new = page.locator("form[action='/ui/users']")
    new.get_by_label("Username", exact=True).fill("hal")
    new.get_by_label("Role", exact=True).select_option("supplier")
    new.get_by_label("Supplier (supplier role)").select_option("harbor")
    new.get_by_label("Password", exact=True).fill(PASSWORD)
    new.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("User hal created.")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, market, "hal", "/ui/my-campaigns")
    expect(page).to_have_url(re.compile(r"/ui/my-campaigns$"))
    expect(page.locator("tr", has_text="Harbor auto")).to_contain_text("1 key")
    page.get_by_role("link", name="Read").first.click()
    expect(page).to_have_url(re.compile(r"/ui/campaigns/harbor_auto/instructions$"))
    expect(page.locator("#test-mode")).to_be_visible()

    seller = {"Authorization": f"Bearer {token}"}
    fields = {**PING, "sub_id": "launch"}
    pinged = httpx.post(
        url(market, "/api/v1/ping"), json={"fields": fields, "test": True}, headers=seller
    )
    assert pinged.status_code == 200, pinged.text
    assert pinged.json()["status"] == "accepted", pinged.text
    posted = httpx.post(
        url(market, "/api/v1/post"),
        json={"ping_id": pinged.json()["ping_id"], "fields": {**fields, **CONTACT}, "test": True},
        headers=seller,
    )
    assert posted.status_code == 200, posted.text
    lead_id = posted.json()["lead_id"]
    assert posted.json()["status"] == "sold", posted.text
    assert [s["order_id"] for s in market.lead(lead_id)["sales"]] == ["qa_order"]

    page.goto(url(market, "/ui/leads"))
    expect(page.locator("tr", has_text=lead_id)).to_contain_text("test")
    page.goto(url(market, "/ui/my-campaigns?test=true"))
    row = page.locator("#figures tbody tr", has_text="harbor_auto")
    expect(row).to_contain_text("launch")
    cells = row.locator("td")
    # pings, accepted, acceptance, leads, posts, sold, returned, payout (70 % of the test
    # order's 1.00), chargebacks, net payout
    for column, value in ((3, "1"), (4, "1"), (6, "1"), (7, "1"), (8, "1"), (10, "0.70")):
        expect(cells.nth(column)).to_have_text(value)
    assert "shield" not in page.content()
