"""The admin UI at phone width (390 × 844, an iPhone 14's viewport) in a real browser: no
page of the main sections is wider than the screen (tables scroll inside their own box, long
names wrap), and the menu folds behind a button that opens it without any script."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.web.test_browser import sign_in, url

WIDTH, HEIGHT = 390, 844
#: a name at the schema's limit, with no space to break at
LONG = "n" * 100


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        yield context.new_page()
    finally:
        context.close()


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen."""
    width: int = page.evaluate("document.scrollingElement.scrollWidth")
    return width - WIDTH


def test_no_page_is_wider_than_a_phone(phone: Page, market: Market) -> None:
    market.apply(
        marketplace(
            [buyer("shield", order("shield_fl", "25.00", name=LONG), name=LONG)],
            [campaign(name=LONG)],
        )
    )
    answer = market.sell()
    assert answer["status"] == "sold", answer
    sign_in(phone, market, "ada")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Dashboard")
    sections: list[str] = phone.eval_on_selector_all(
        'nav[aria-label="Sections"] a', "links => links.map(a => a.getAttribute('href'))"
    )
    assert "/ui/leads" in sections
    assert "/ui/reports" in sections
    pages = [
        *sections,
        f"/ui/leads/{answer['lead_id']}",
        "/ui/orders/shield_fl",
        "/ui/buyers/shield",
        "/ui/orders/shield_fl/edit",
        "/ui/campaigns/acme_auto",
        "/ui/verticals/auto",
        "/ui/reports?by=buyer",
    ]
    wide = {}
    for path in pages:
        response = phone.goto(url(market, path))
        assert response is not None
        assert response.status == 200, path
        if (extra := overflow(phone)) > 0:
            wide[path] = extra
    assert wide == {}, f"pages wider than {WIDTH} px (by px): {wide}"


def test_the_menu_folds_and_opens(phone: Page, market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl"))]))
    sign_in(phone, market, "ada")
    nav = phone.locator('nav[aria-label="Sections"]')
    expect(nav).to_be_hidden()
    expect(phone.get_by_role("button", name="Sign out")).to_be_hidden()
    phone.locator("label.menu-button").click()
    expect(nav).to_be_visible()
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()
    nav.get_by_role("link", name="Buyers").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Buyers")
    expect(nav).to_be_hidden()  # a new page starts folded
    assert overflow(phone) <= 0


def test_a_wide_screen_shows_the_menu_without_a_button(page: Page, market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl"))]))
    sign_in(page, market, "ada")
    expect(page.locator('nav[aria-label="Sections"]')).to_be_visible()
    expect(page.locator("label.menu-button")).to_be_hidden()
