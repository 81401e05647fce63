"""Defects of issue 13's walk through the UI: a reversed sale shown as a win, a paused
buyer's orders shown active."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.api.test_post_delivery import BUYERS, posting
from tests.support.buyers import running_buyers
from tests.web.test_config_pages import signed_in, submit


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_a_reversed_sale_is_shown_reversed_not_as_a_win(market: Market, mock: MockBuyer) -> None:
    market.apply(marketplace([posting(mock, "refuser", "30.00")]))
    answer = market.sell()
    assert answer["status"] == "rejected", answer
    page = signed_in(market).get(f"/ui/leads/{answer['lead_id']}")
    assert page.status_code == 200

    sales = section(page.text, "sales")
    (row,) = re.findall(r'<tr class="sale-[a-z]+">.*?</tr>', sales, re.S)
    assert 'class="sale-rejected"' in row
    assert '<span class="badge quiet">reversed</span>' in row
    assert "Sold (UTC)" not in sales

    auction = section(page.text, "auction")
    assert ">winner<" not in auction  # the ping's winner did not buy the lead
    assert "winner, reversed" in auction
    assert 'class="winner"' not in auction
    assert "<strong>refuser_fixed</strong> (reversed)" in auction


def test_a_sold_lead_still_shows_its_winner(market: Market, mock: MockBuyer) -> None:
    market.apply(marketplace([posting(mock, "taker", "30.00")]))
    answer = market.sell()
    assert answer["status"] == "sold", answer
    page = signed_in(market).get(f"/ui/leads/{answer['lead_id']}")
    assert '<span class="badge good">sold</span>' in section(page.text, "sales")
    auction = section(page.text, "auction")
    assert '<span class="badge good">winner</span>' in auction
    assert 'class="winner"' in auction


def test_a_paused_buyers_orders_are_shown_paused(market: Market) -> None:
    market.apply(
        marketplace(
            [buyer("shield", order("shield_fl"), active=False)],
            [campaign()],
        )
    )
    http = signed_in(market)
    word = "paused (buyer paused)"
    listed = http.get("/ui/buyers").text
    row = listed[listed.index('href="/ui/orders/shield_fl"') :]
    row = row[: row.index("</tr>")]
    assert word in row
    assert ">active<" not in row
    buyer_page = section(http.get("/ui/buyers/shield").text, "orders")
    assert word in buyer_page
    assert ">active<" not in buyer_page
    order_page = http.get("/ui/orders/shield_fl").text
    heading = order_page[order_page.index("<h1>") : order_page.index("</h1>")]
    assert word in heading
    assert ">active<" not in heading

    market.apply(marketplace([buyer("shield", order("shield_fl"))], [campaign()]))
    heading = http.get("/ui/orders/shield_fl").text
    assert '<span class="badge good">active</span>' in heading
    assert word not in heading


def test_a_paused_suppliers_campaigns_are_shown_paused(market: Market) -> None:
    config = marketplace([buyer("shield", order("shield_fl"))])
    config["suppliers"][0]["active"] = False
    market.apply(config)
    http = signed_in(market)
    word = "paused (supplier paused)"
    listed = http.get("/ui/campaigns").text
    row = listed[listed.index('href="/ui/campaigns/acme_auto"') :]
    assert word in row[: row.index("</tr>")]
    page = http.get("/ui/campaigns/acme_auto").text
    assert word in page[page.index("<h1>") : page.index("</h1>")]


def test_a_long_name_is_refused_by_the_form_naming_the_field(market: Market) -> None:
    market.apply(marketplace([buyer("shield", order("shield_fl"))]))
    answer = submit(signed_in(market), "/ui/buyers/shield/edit", name="n" * 101)
    assert answer.status_code == 422
    assert "name: string should have at most 100 characters" in answer.text
