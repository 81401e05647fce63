"""In a real browser: an operator makes a campaign key on the keys page, copies it with the
button, and it opens the seller API; ``/docs`` renders with every outside request refused."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, Route, expect

from tests.api.market import PING, Market, buyer, marketplace, order
from tests.web.test_browser import sign_in, url


def test_an_operator_makes_a_key_copies_it_and_it_works(page: Page, market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl", "25.00"))]))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, market, "otto", "/ui/keys")
    expect(page).to_have_url(re.compile(r"/ui/keys$"))

    page.get_by_label("New key for").select_option("acme_auto")
    page.get_by_label("Name").fill("landing pages")
    page.get_by_role("button", name="Create key").click()

    field = page.get_by_label("Key", exact=True)
    expect(field).to_have_value(re.compile(r"^pt_[0-9a-f]{16}_"))
    expect(field).to_have_attribute("readonly", "")
    token = field.input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token

    answer = httpx.post(
        url(market, "/api/v1/ping"),
        json={"fields": PING},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text

    page.goto(url(market, "/ui/keys"))
    row = page.locator("tr", has_text="landing pages")
    expect(row).to_contain_text("active")
    expect(row).not_to_contain_text("never")  # its last use is shown
    assert token not in page.content()


def test_the_api_docs_render_with_no_internet(page: Page, market: Market) -> None:
    outside: list[str] = []
    origin = url(market, "")

    def only_ours(route: Route) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    page.goto(url(market, "/docs"))
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/v1/ping", exact=True).first).to_be_visible()
    assert outside == []
