"""A lead's conversion postbacks on its page: the staff see each event's URL, state and
tries (the failed one and the one that went through)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import CONTACT, PING, Market, campaign, marketplace
from tests.api.test_post_delivery import BUYERS, posting
from tests.support.buyers import running_buyers
from tests.support.tracker import running_tracker
from tests.web.session import sign_in


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def test_the_staff_see_a_leads_postbacks_on_its_page(market: Market, mock: MockBuyer) -> None:
    with running_tracker([503]) as tracker:
        template = tracker.url + "/cb?click={click_id}&payout={payout}&status={status}"
        market.apply(
            marketplace([posting(mock, "taker", "30.00")], [campaign(postback_url=template)])
        )
        fields = {**PING, "click_id": "clk-42"}
        pinged = market.ping(fields)
        lead_id = market.post(pinged["ping_id"], {**fields, **CONTACT})["lead_id"]
        tracker.wait_for(2)
    with httpx.Client(base_url=market.http.base_url, timeout=30) as browser:
        assert sign_in(browser, "otto").status_code == 303
        page = browser.get(f"/ui/leads/{lead_id}")
    assert page.status_code == 200, page.text
    section = page.text[page.text.index('id="postbacks"') :]
    section = section[: section.index("</section>")]
    assert "GET http://127.0.0.1" in section
    assert "click=clk-42&amp;payout=21.00&amp;status=sold" in section
    assert "HTTP 503" in section
    assert "HTTP 200" in section
