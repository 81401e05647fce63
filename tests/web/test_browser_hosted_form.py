"""A hosted form (``/f/{form}``) filled in by a person in Debian's chromium, on a phone's
screen: the browser's own checks first, then the server's, then the lead sold to a live
bidder (a mock buyer on loopback) and the thank-you page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, campaign, marketplace
from tests.api.test_hosted_forms import FORM, live_bidder
from tests.support.buyers import running_buyers


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    # no redirect URL: the consumer stays on pingtree's thank-you page
    endpoints = {"rich": {"bid": {"kind": "fixed", "amount": "35.00"}, "redirect_url": None}}
    with running_buyers(endpoints) as running:
        yield running


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    """A phone-sized page that can reach loopback only."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    context.route("**/*", loopback_only)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_person_fills_in_the_form_on_a_phone_and_the_lead_is_sold(
    market: Market, mock: MockBuyer, phone: Page
) -> None:
    # the campaign checks phone and email and requires consent: the form gives its evidence
    form = {key: value for key, value in FORM.items() if key != "consent"}  # the campaign's
    consent = {
        "texts": [{"version": "2026-12", "text": FORM["consent"]}],
        "require": ["text", "time", "ip", "page_url"],
    }
    steps = [{"type": "phone", "on_fail": "reject"}, {"type": "email", "on_fail": "reject"}]
    checked = campaign(modes=["direct_post"], forms=[form], consent=consent, steps=steps)
    market.apply(marketplace([buyer("rich", live_bidder(mock))], [checked]))
    base = str(market.http.base_url).rstrip("/")
    phone.goto(f"{base}/f/quote?sub_id=pw1&utm_campaign=spring")
    assert phone.title() == "Compare auto insurance quotes"
    phone.get_by_label("Zip").fill("33101")
    phone.get_by_label("State").fill("FL")
    phone.get_by_label("Your age").fill("34")
    phone.get_by_label("credit").select_option("good")
    phone.get_by_label("First name").fill("Ana")
    phone.get_by_label("email").fill("ana.browser@example.com")
    phone.get_by_label("phone").fill("305-555-0188")
    # the server checks what the browser let through: a bad email comes back, marked
    phone.get_by_label("email").fill("ana.browser@")
    phone.get_by_role("button", name="Get my quotes").click()
    error = phone.locator("#email-error")
    error.wait_for()
    assert error.inner_text()
    assert phone.get_by_label("email").get_attribute("aria-invalid") == "true"
    assert phone.get_by_label("First name").input_value() == "Ana"  # the answers stay
    phone.get_by_label("email").fill("ana.browser@example.com")
    phone.get_by_role("button", name="Get my quotes").click()
    phone.get_by_role("status").wait_for()
    assert phone.get_by_role("status").inner_text() == FORM["thank_you"]

    lead = _lead(market, "pw1")
    assert lead["status"] == "sold", lead
    assert lead["fields"]["utm_campaign"] == "spring"
    assert lead["fields"]["consent_text"] == FORM["consent"]
    assert "Chrome" in lead["fields"]["user_agent"]
    assert len(mock.requests_to("rich", "post")) == 1
    # its trace: each step's result, and the consent's evidence
    lines = {line["step"]: line for line in lead["auction"]["steps"]}
    assert [line["step"] for line in lead["auction"]["steps"]] == ["consent", "phone", "email"]
    assert all(line["action"] == "continue" for line in lines.values()), lines
    results = lines["consent"]["results"]
    assert (results["consent.valid"], results["consent.version"]) == (True, "2026-12")
    assert results["consent.page_url"] == f"{base}/f/quote?sub_id=pw1&utm_campaign=spring"
    assert results["consent.at"] == lead["fields"]["consent_at"]
    assert lines["phone"]["results"]["phone.valid"] is True


def _lead(market: Market, sub_id: str) -> dict[str, Any]:
    give_up = time.monotonic() + 10
    while True:
        found = market.http.get(
            "/api/v1/admin/leads", headers=market.admin, params={"sub_id": sub_id}
        ).json()
        rows = found.get("leads", found) if isinstance(found, dict) else found
        if rows or time.monotonic() > give_up:
            break
        time.sleep(0.05)
    (row,) = rows
    return market.lead(row["id"], reveal=True)


@contextmanager
def seller_page(form_base: str) -> Iterator[str]:
    """A seller's landing page on another loopback origin, embedding the form by its
    script tag; yields the page's origin."""
    body = (
        "<!doctype html><html><head><title>Acme</title></head><body><h1>Acme quotes</h1>"
        f'<script src="{form_base}/f/quote/embed.js" data-height="900"></script>'
        "</body></html>"
    ).encode()

    class Landing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_form_embedded_by_its_script_tag_sells_from_the_sellers_page(
    market: Market, mock: MockBuyer, phone: Page
) -> None:
    base = str(market.http.base_url).rstrip("/")
    with seller_page(base) as origin:
        framed = {**FORM, "frame_ancestors": [origin]}
        market.apply(
            marketplace(
                [buyer("rich", live_bidder(mock))],
                [campaign(modes=["direct_post"], forms=[framed])],
            )
        )
        phone.goto(f"{origin}/landing?sub_id=framed1&utm_source=news")
        frame = phone.frame_locator("iframe")
        frame.get_by_label("Zip").fill("33101")
        frame.get_by_label("State").fill("FL")
        frame.get_by_label("Your age").fill("41")
        frame.get_by_label("credit").select_option("fair")
        frame.get_by_label("First name").fill("Bea")
        frame.get_by_label("email").fill("bea.framed@example.com")
        frame.get_by_label("phone").fill("305-555-0166")
        frame.get_by_role("button", name="Get my quotes").click()
        frame.get_by_role("status").wait_for()
    lead = _lead(market, "framed1")
    assert lead["status"] == "sold", lead
    # the page the consent was given on, and its tracking values, came through the tag
    assert lead["fields"]["source_url"] == f"{origin}/landing?sub_id=framed1&utm_source=news"
    assert lead["fields"]["utm_source"] == "news"


def test_a_page_the_form_does_not_name_cannot_frame_it(
    market: Market, mock: MockBuyer, phone: Page
) -> None:
    market.apply(
        marketplace(
            [buyer("rich", live_bidder(mock))], [campaign(modes=["direct_post"], forms=[FORM])]
        )
    )
    base = str(market.http.base_url).rstrip("/")
    with seller_page(base) as origin:
        # the browser refuses to show it inside another site's page, and says why
        with phone.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
            phone.goto(f"{origin}/landing")
        assert "The request has been blocked" in refused.value.text
        handle = phone.locator("iframe").element_handle()
        frame = handle.content_frame() if handle is not None else None
        assert frame is not None
        frame.wait_for_load_state()
        assert frame.locator("form").count() == 0
