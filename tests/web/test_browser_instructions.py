"""A campaign's posting instructions in a real browser: reached from the campaign's page,
rendered, downloadable as Markdown, and printable (print styles drop the navigation; chromium
makes a PDF of it)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from pingtree.domain.fields import with_tracking_fields
from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market
from tests.support.buyers import running_buyers
from tests.web.conftest import PASSWORD
from tests.web.test_posting_instructions import instructions_market


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: ``PINGTREE_SCREENSHOTS`` (``docs/screenshots`` to refresh the
    committed ones), else the test's temporary directory."""
    folder = Path(os.environ.get("PINGTREE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers({"taker": {"check_token": False}}) as running:
        yield running


def test_the_instructions_render_download_and_print(
    page: Page, market: Market, mock: MockBuyer, screenshots: Path, tmp_path: Path
) -> None:
    market.apply(instructions_market(mock))
    base = str(market.http.base_url).rstrip("/")
    page.goto(f"{base}/ui/campaigns/acme_auto")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/campaigns/acme_auto$"))

    page.get_by_role("link", name="Posting instructions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Posting instructions: acme_auto")
    fields = page.locator("#fields tbody tr")
    # the vertical's 8 fields and the tracking fields every vertical inherits
    expect(fields).to_have_count(8 + len(with_tracking_fields(())))
    expect(page.locator('tr[data-field="credit"] td').nth(2)).to_have_text("required")
    expect(page.locator('tr[data-field="email"] td').nth(2)).to_have_text("never")
    expect(page.locator('tr[data-field="email"] td').nth(3)).to_have_text("required")
    expect(page.locator("#example-ping pre.curl-json")).to_contain_text(f"{base}/api/v1/ping")
    expect(page.locator("#example-ping pre.curl-json")).to_contain_text("$PINGTREE_API_KEY")
    print_button = page.get_by_role("button", name="Print / save as PDF")
    expect(print_button).to_be_visible()  # shown by its script (hidden without one)
    page.set_viewport_size({"width": 1200, "height": 900})
    page.screenshot(path=screenshots / "posting-instructions.png")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download Markdown").click()
    assert download.value.suggested_filename == "posting-instructions-acme_auto.md"
    saved = tmp_path / "instructions.md"
    download.value.save_as(saved)
    assert saved.read_text().startswith("# Posting instructions: acme_auto\n")

    # printed: no navigation, no buttons; the instructions whole
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(print_button).to_be_hidden()
    expect(page.locator("#fields")).to_be_visible()
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 20_000
    # more than one page: the fields and the examples each start a page
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 3
