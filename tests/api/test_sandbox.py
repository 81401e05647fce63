"""Test mode, the supplier portal's sandbox, through the real HTTP API: a test ping, its post
and a test direct post run end to end against test orders and never reach a live buyer's
endpoint (mock buyers on loopback that record every request), nor do a test-mode campaign's
leads; the same leads without ``test`` do reach the live buyers, so the check is not empty."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.api.test_live_bids import live_order
from tests.support.buyers import running_buyers

ENDPOINTS: dict[str, dict[str, Any]] = {
    "livebid": {"bid": {"kind": "fixed", "amount": "35.00"}},
    "livepost": {"check_token": False},
    "qa": {"check_token": False},
}


@pytest.fixture
def mock() -> Iterator[MockBuyer]:
    with running_buyers(ENDPOINTS) as running:
        yield running


def _posted_to(mock: MockBuyer, name: str, price: str, **overrides: Any) -> dict[str, Any]:
    """A fixed-price order whose leads are posted to the mock endpoint ``name``."""
    post = {
        "url": mock.post_url(name),
        "content_type": "json",
        "timeout_ms": 2000,
        "body": {"fields": [{"from": n, "to": n} for n in ("zip", "first_name", "phone")]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
    }
    return order(f"{name}_order", price, delivery={"post": post}, **overrides)


def _config(mock: MockBuyer) -> dict[str, Any]:
    return marketplace(
        [
            buyer("live1", live_order(mock, "livebid")),
            buyer("live2", _posted_to(mock, "livepost", "30.00")),
            buyer("qa", _posted_to(mock, "qa", "1.00", test_mode=True)),
        ],
        [campaign("acme_auto"), campaign("acme_sandbox", test_mode=True)],
    )


def _live_requests(mock: MockBuyer) -> list[str]:
    return [f"{r.endpoint} {r.kind}" for n in ("livebid", "livepost") for r in mock.requests_to(n)]


def test_test_leads_reach_only_test_orders_never_a_live_buyer(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(_config(mock))
    pinged = market.ping(test=True)
    assert pinged["status"] == "accepted", pinged
    assert pinged["test"] is True
    sold = market.post(pinged["ping_id"], test=True)
    assert sold["status"] == "sold", sold
    assert [s["order_id"] for s in market.lead(sold["lead_id"])["sales"]] == ["qa_order"]
    direct = market.direct_post({**PING, **CONTACT}, test=True)
    assert direct["status"] == "sold", direct
    # a test-mode campaign's leads are test leads, whatever the seller sends
    in_sandbox = market.sell(campaign_id="acme_sandbox")
    assert in_sandbox["test"] is True
    assert _live_requests(mock) == []
    assert len(mock.requests_to("qa", "post")) == 3

    # the same lead for real reaches the live buyers: the check above is not empty
    real = market.ping()
    assert real["status"] == "accepted"
    assert market.post(real["ping_id"])["status"] == "sold"
    assert mock.requests_to("livebid", "ping")
    assert len(mock.requests_to("qa", "post")) == 3
