"""The admin UI in a real browser: sign in, find a sold lead, read its trace, sign out."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers
from tests.web.conftest import PASSWORD

TEXAS_ONLY = {"all": [{"field": "state", "op": "in", "value": ["TX"]}]}


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: ``PINGTREE_SCREENSHOTS`` (``docs/screenshots`` to refresh the
    committed ones), else the test's temporary directory."""
    folder = Path(os.environ.get("PINGTREE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"rich": {"bid": {"kind": "fixed", "amount": "31.00"}}}) as running:
        yield running


def live_order(mock: MockBuyer, name: str) -> dict[str, Any]:
    """A ``bid`` order pinged and posted over HTTP at the mock buyer ``name``."""
    response = {
        "accepted": {"json": "$.status", "equals": ["success"]},
        "bid": {"json": "$.price"},
        "token": {"json": "$.ping_id"},
        "reason": {"json": "$.reason"},
    }
    fields = [{"from": "zip", "to": "zip"}, {"from": "state", "to": "state"}]
    delivery = {
        "ping": {
            "url": mock.ping_url(name),
            "content_type": "json",
            "timeout_ms": 500,
            "body": {"fields": fields},
            "response": response,
        },
        "post": {
            "same_as": "ping",
            "url": mock.post_url(name),
            "timeout_ms": 2000,
            "body": {"fields": [{"from": "token", "to": "ping_id"}, *fields]},
        },
    }
    return order(f"{name}_live", None, pricing={"type": "bid"}, delivery=delivery)


def url(market: Market, path: str) -> str:
    return str(market.http.base_url).rstrip("/") + path


def sign_in(
    page: Page, market: Market, username: str, path: str = "/ui", password: str = PASSWORD
) -> None:
    page.goto(url(market, path))
    expect(page).to_have_url(re.compile(r"/ui/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def a_sold_lead(market: Market, mock: MockBuyer) -> str:
    market.apply(
        marketplace(
            [
                buyer("rich", live_order(mock, "rich")),
                buyer("shield", order("shield_fl", "25.00")),
                buyer("texan", order("texan_tx", "40.00", filters=TEXAS_ONLY)),
            ],
            [campaign(ping_deadline_ms=800)],
        )
    )
    sold = market.sell()
    assert sold["status"] == "sold", sold
    lead_id: str = sold["lead_id"]
    # the delivery log is written in batches: wait for the ping and the post
    for _ in range(100):
        if len(market.lead(lead_id)["attempts"]) >= 2:
            return lead_id
        time.sleep(0.05)
    raise AssertionError("the lead's attempts never reached the delivery log")


def test_an_admin_finds_a_sold_lead_and_reads_its_trace(
    page: Page, market: Market, mock: MockBuyer, screenshots: Path
) -> None:
    lead_id = a_sold_lead(market, mock)

    sign_in(page, market, "ada", "/ui/leads", password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/leads$"))

    page.get_by_label("Status").select_option("sold")
    page.get_by_label("Sold to buyer").fill("rich")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"status=sold"))
    page.get_by_role("link", name=lead_id).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(lead_id)
    candidates = page.locator("table.candidates").first
    expect(candidates.locator("tr", has_text="rich_live")).to_contain_text("winner")
    expect(candidates.locator("tr", has_text="rich_live")).to_contain_text("31.00")
    expect(candidates.locator("tr", has_text="shield_fl")).to_contain_text("fixed")
    expect(candidates.locator("tr", has_text="texan_tx")).to_contain_text("state in [TX]")
    expect(page.locator("#sales")).to_contain_text("rich_live")
    expect(page.locator("#sales")).to_contain_text("31.00")
    fields = page.locator("#fields")
    expect(fields.locator("tr", has_text="phone")).to_contain_text("•••")

    post = page.locator("details.attempt").filter(
        has=page.locator(".kind", has_text=re.compile("^post$"))
    )
    post.locator("summary").click()
    expect(post).to_contain_text(mock.post_url("rich"))
    page.screenshot(path=screenshots / "lead-trace.png", full_page=True)

    page.get_by_role("button", name="Reveal personal data").click()
    expect(page.locator("#fields").locator("tr", has_text="phone")).to_contain_text("3055550142")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    page.goto(url(market, f"/ui/leads/{lead_id}"))
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))


def test_a_ping_page_shows_its_auction(page: Page, market: Market, mock: MockBuyer) -> None:
    lead_id = a_sold_lead(market, mock)
    ping_id = market.lead(lead_id)["ping_id"]
    sign_in(page, market, "otto")
    page.get_by_role("link", name="Pings", exact=True).click()
    page.get_by_role("link", name=ping_id).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("accepted")
    expect(page.locator("table.ranking tr", has_text="rich_live")).to_contain_text("winner")
    expect(page.locator("#attempts")).to_contain_text("rich_live")

    page.get_by_role("link", name="Delivery log").click()
    page.get_by_label("Kind").select_option("post")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("accepted")
    rows.first.get_by_role("link", name="lead").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(lead_id)


def test_an_analyst_sees_masked_personal_data_and_no_reveal(
    page: Page, market: Market, mock: MockBuyer
) -> None:
    lead_id = a_sold_lead(market, mock)
    sign_in(page, market, "ana", f"/ui/leads/{lead_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(lead_id)
    expect(page.locator("#fields").locator("tr", has_text="email")).to_contain_text("•••")
    expect(page.get_by_role("button", name="Reveal personal data")).to_have_count(0)
    expect(page.locator("#fields")).to_contain_text("masked for the analyst role")
    assert "3055550142" not in page.content()
