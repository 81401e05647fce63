"""Users in a real browser: an admin creates a supplier's user on the users page; that person
signs in and sees the supplier's own leads and nothing of the marketplace; disabled, it is
signed out."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.web.conftest import PASSWORD
from tests.web.test_browser import screenshots, sign_in, url

__all__ = ["screenshots"]  # the fixture, shared


def test_an_admin_creates_a_supplier_user_who_sees_only_its_own_leads(
    page: Page, market: Market, screenshots: Path
) -> None:
    market.apply(
        marketplace([buyer("shield", order("shield_fl", "25.00"))], [campaign("acme_auto")])
    )
    sold = market.sell()
    assert sold["status"] == "sold", sold

    sign_in(page, market, "ada", "/ui/users")
    expect(page).to_have_url(re.compile(r"/ui/users$"))
    new = page.locator("form[action='/ui/users']")
    new.get_by_label("Username", exact=True).fill("sue")
    new.get_by_label("Role", exact=True).select_option("supplier")
    new.get_by_label("Supplier (supplier role)").select_option("acme")
    new.get_by_label("Time zone", exact=True).fill("America/New_York")
    new.get_by_label("Password", exact=True).fill(PASSWORD)
    new.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("User sue created.")
    row = page.locator("tr", has_text="sue")
    expect(row).to_contain_text("supplier:acme")
    expect(row).to_contain_text("America/New_York")
    page.screenshot(path=screenshots / "users.png", full_page=True)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, market, "sue", "/ui")
    expect(page).to_have_url(re.compile(r"/ui/my-campaigns$"))  # its portal
    page.get_by_role("link", name="Leads", exact=True).first.click()
    expect(page.get_by_role("link", name=sold["lead_id"])).to_be_visible()
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link")).to_have_text(
        [
            "Your campaigns",
            "Leads",
            "Pings",
            "API keys",
            "Party keys",
            "Dispositions",
            "Invoices",
            "Returns",
            "My account",
        ]
    )
    page.get_by_role("link", name=sold["lead_id"]).click()
    expect(page.locator("body")).not_to_contain_text("shield")
    expect(page.locator("body")).not_to_contain_text("25.00")
    page.goto(url(market, "/ui/buyers"))
    expect(page.locator("body")).to_contain_text("may not see")

    admin = page.context.browser.new_context() if page.context.browser else None
    assert admin is not None
    try:
        other = admin.new_page()
        sign_in(other, market, "ada", "/ui/users")
        other.locator("tr", has_text="sue").get_by_role("button", name="Disable").click()
        expect(other.get_by_role("status")).to_contain_text("sue disabled")
    finally:
        admin.close()
    page.goto(url(market, "/ui/leads"))
    expect(page).to_have_url(re.compile(r"/ui/login"))
