"""A return in a real browser (Debian's chromium): a buyer's user asks for a lead's money
back from its bought lead's page, an operator approves it from the returns queue, and the
buyer's account shows the credit. Writes ``buyer-return.png`` where ``PINGTREE_SCREENSHOTS``
says (``docs/screenshots`` to refresh the committed one)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pingtree.mockbuyer import MockBuyer
from tests.api.market import PING, Market
from tests.support.buyers import running_buyers
from tests.web.test_browser import sign_in
from tests.web.test_buyer_portal import ALPHA_PEOPLE, ALPHA_PRICE, ENDPOINTS, buyer_user, sold_to
from tests.web.test_return_pages import returns_config


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PINGTREE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(ENDPOINTS) as running:
        yield running


def test_a_buyer_returns_a_lead_an_operator_approves_it_and_the_account_shows_the_credit(
    page: Page, market: Market, mock: MockBuyer, screenshots: Path
) -> None:
    market.apply(returns_config(mock))
    lead_id, taker = sold_to(market, PING, ALPHA_PEOPLE[0])
    assert taker == "alpha"
    buyer_user(market, "bea", "alpha")

    # the buyer asks from the lead's page in its portal
    sign_in(page, market, "bea")
    expect(page).to_have_url(re.compile(r"/ui/my-orders$"))
    nav = page.get_by_role("navigation", name="Sections")
    nav.get_by_role("link", name="Bought leads").click()
    page.get_by_role("link", name=lead_id).click()
    returns = page.locator("#returns")
    expect(returns).to_contain_text(f"You may ask for this lead's {ALPHA_PRICE} back until")
    returns.get_by_role("combobox", name="Reason").select_option("wrong_number")
    returns.get_by_role("textbox", name="Comment").fill("The number is disconnected")
    returns.get_by_role("button", name="Request a return").click()
    expect(page).to_have_url(re.compile(rf"/ui/bought-leads/{lead_id}#return$"))
    expect(returns).to_contain_text("requested")
    expect(returns).to_contain_text("Waiting for the operator's decision.")
    expect(returns.get_by_role("button", name="Request a return")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    # an operator approves it from the queue
    sign_in(page, market, "otto")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Returns").click()
    row = page.locator("#returns tbody tr", has_text=lead_id)
    expect(row).to_contain_text("The number is disconnected")
    expect(row).to_contain_text(ALPHA_PRICE)
    row.get_by_label(f"Approval note, lead {lead_id}").fill("line checked: disconnected")
    row.get_by_role("button", name=f"Approve the return of lead {lead_id}").click()
    expect(page.locator("#returns")).to_contain_text("No requested returns.")
    page.get_by_role("button", name="Sign out").click()

    # the buyer sees it approved and credited, on the lead and in its account
    sign_in(page, market, "bea", f"/ui/bought-leads/{lead_id}")
    expect(page).to_have_url(re.compile(rf"/ui/bought-leads/{lead_id}$"))
    expect(returns).to_contain_text("approved")
    expect(returns).to_contain_text(f"Credited {ALPHA_PRICE}.")
    page.screenshot(path=screenshots / "buyer-return.png", full_page=True)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="My account").click()
    credit = page.locator("#entries tbody tr", has_text="return")
    expect(credit).to_contain_text(ALPHA_PRICE)
    expect(credit).to_contain_text("wrong_number")
    # the sale took the price, the return gave it back
    expect(page.locator("#balance dd").first).to_have_text("0.00")
