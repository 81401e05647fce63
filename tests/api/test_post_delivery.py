"""Posting sold leads to buyers' endpoints through the outbox: real mock buyers over HTTP.

Covers the waterfall on a rejection, retries of what a buyer did not process (503), a
timeout held as unknown (never re-sent blindly), the redirect URL reaching the seller,
``wait_for_delivery`` off and ``post_deadline_ms``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers

_TAKES = {"check_token": False}
BUYERS: dict[str, dict[str, Any]] = {
    "taker": _TAKES,
    "refuser": {**_TAKES, "post_accept_rate": 0.0, "reject_reason": "outside our area"},
    "busy": {**_TAKES, "misbehaviour": {"kind": "error", "status": 503, "on": "post"}},
    "broken": {**_TAKES, "misbehaviour": {"kind": "error", "status": 500, "on": "post"}},
    "hanger": {**_TAKES, "misbehaviour": {"kind": "hang", "on": "post"}},
    "slow": {**_TAKES, "latency": {"kind": "fixed", "ms": 600}},
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def posting(mock: MockBuyer, name: str, price: str, **post: Any) -> dict[str, Any]:
    """A fixed-price order of buyer ``name`` whose leads are posted to its mock endpoint."""
    step = {
        "url": mock.post_url(name),
        "content_type": "json",
        "timeout_ms": 300,
        "body": {
            "fields": [
                {"from": "zip", "to": "zip"},
                {"from": "first_name", "to": "first_name"},
                {"from": "phone", "to": "phone"},
                {"from": "email", "to": "email"},
            ]
        },
        "response": {
            "accepted": {"json": "$.status", "equals": ["success"]},
            "redirect_url": {"json": "$.redirect_url"},
            "reason": {"json": "$.reason"},
        },
        **post,
    }
    return buyer(name, order(f"{name}_fixed", price, delivery={"post": step}))


def sales_by_order(market: Market, lead_id: str) -> dict[str, str]:
    return {s["order_id"]: s["status"] for s in market.lead(lead_id)["sales"]}


def posts_to(mock: MockBuyer, name: str) -> int:
    return len(mock.requests_to(name, "post"))


def test_the_buyer_accepts_the_post_and_its_redirect_url_reaches_the_seller(
    market: Market, mock: MockBuyer
):
    market.apply(marketplace([posting(mock, "taker", "30.00")]))
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "sold", answer
    assert answer["price"] == "21.00"
    assert answer["redirect_url"].startswith("https://buyer.invalid/thanks/")
    (received,) = mock.requests_to("taker", "post")
    lead = market.lead(answer["lead_id"])
    (sale,) = lead["sales"]
    assert sale["status"] == "sold"
    # the full lead went to the winner, with the sale id as its idempotency key
    assert json.loads(received.body)["first_name"] == CONTACT["first_name"]
    assert received.headers["Idempotency-Key"] == sale["id"]
    (attempt,) = _post_attempts(market, answer["lead_id"])
    assert attempt["outcome"] == "accepted"
    # the delivery log keeps the body with the PII replaced by placeholders
    assert "{{first_name}}" in attempt["request_body"]
    assert "Ana" not in attempt["request_body"]
    assert "555" not in attempt["request_body"]
    assert (
        market.http.get(f"/api/v1/leads/{answer['lead_id']}", headers=market.seller()).json()
        == answer
    )


def test_a_rejected_post_falls_to_the_next_bidder(market: Market, mock: MockBuyer):
    capped = {"caps": [{"kind": "count", "window": "day", "limit": 1}]}
    refuser = posting(mock, "refuser", "30.00")
    refuser["orders"][0].update(capped)
    market.apply(marketplace([refuser, posting(mock, "taker", "20.00")]))
    pinged = market.ping()
    assert pinged["bid"] == "21.00"  # 70 % of the best price, 30.00
    answer = market.post(pinged["ping_id"])
    # the ping's bid was a ceiling: the fallback pays the seller 70 % of 20.00
    assert (answer["status"], answer["price"]) == ("sold", "14.00")
    assert sales_by_order(market, answer["lead_id"]) == {
        "refuser_fixed": "rejected",
        "taker_fixed": "sold",
    }
    lead = market.lead(answer["lead_id"])
    assert (lead["status"], lead["revenue"], lead["cost"]) == ("sold", "20.00", "14.00")
    # the rejected sale gave its cap back: once the cap room is refreshed (every 0.2 s
    # here), the refuser wins pings again
    time.sleep(0.5)
    assert market.ping()["bid"] == "21.00"


def test_a_503_is_retried_then_the_lead_falls_over(market: Market, mock: MockBuyer):
    market.apply(
        marketplace([posting(mock, "busy", "30.00", retries=2), posting(mock, "taker", "20.00")])
    )
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "sold"
    assert posts_to(mock, "busy") == 3  # the first try and two retries
    assert sales_by_order(market, answer["lead_id"]) == {
        "busy_fixed": "rejected",
        "taker_fixed": "sold",
    }
    deliveries = market.http.get(
        f"/api/v1/admin/leads/{answer['lead_id']}/deliveries", headers=market.admin
    ).json()
    assert [(d["order_id"], d["status"], d["tries"]) for d in deliveries] == [
        ("busy_fixed", "failed", 3),
        ("taker_fixed", "delivered", 1),
    ]


@pytest.mark.parametrize("name", ["hanger", "broken"])
def test_a_timeout_or_500_is_unknown_held_not_resent_nor_fallen_over(
    market: Market, mock: MockBuyer, name: str
):
    market.apply(
        marketplace([posting(mock, name, "30.00", retries=3), posting(mock, "taker", "20.00")])
    )
    mock.reset()
    answer = market.sell()
    # the buyer may have the lead: its place is kept, nobody else gets it, no re-send
    assert answer["status"] == "pending", answer
    assert posts_to(mock, name) == 1
    assert posts_to(mock, "taker") == 0
    lead_id = answer["lead_id"]
    assert sales_by_order(market, lead_id) == {f"{name}_fixed": "unknown"}
    (sale,) = market.lead(lead_id)["sales"]
    # an operator asks the buyer and settles it
    resolved = market.http.post(
        f"/api/v1/admin/sales/{sale['id']}/resolve", json={"delivered": True}, headers=market.admin
    )
    assert resolved.status_code == 200, resolved.text
    final = market.http.get(f"/api/v1/leads/{lead_id}", headers=market.seller()).json()
    assert (final["status"], final["price"]) == ("sold", "21.00")
    again = market.http.post(
        f"/api/v1/admin/sales/{sale['id']}/resolve", json={"delivered": True}, headers=market.admin
    )
    assert again.status_code == 409


def test_an_operators_not_delivered_offers_the_lead_to_the_next_bidder(
    market: Market, mock: MockBuyer
):
    market.apply(marketplace([posting(mock, "broken", "30.00"), posting(mock, "taker", "25.00")]))
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "pending", answer
    lead_id = answer["lead_id"]
    (sale,) = market.lead(lead_id)["sales"]
    resolved = market.http.post(
        f"/api/v1/admin/sales/{sale['id']}/resolve", json={"delivered": False}, headers=market.admin
    )
    assert resolved.status_code == 200, resolved.text
    # as after a rejection: the next bidder buys it, at its own (lower) price
    final = _final_answer(market, lead_id)
    assert final["status"] == "sold", final
    assert posts_to(mock, "taker") == 1
    assert sales_by_order(market, lead_id) == {"broken_fixed": "rejected", "taker_fixed": "sold"}
    lead = market.lead(lead_id)
    assert (lead["status"], lead["revenue"]) == ("sold", "25.00")


def test_on_unknown_retry_resends_with_the_same_idempotency_key(market: Market, mock: MockBuyer):
    market.apply(marketplace([posting(mock, "broken", "30.00", retries=1, on_unknown="retry")]))
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "pending"
    keys = [r.headers["Idempotency-Key"] for r in mock.requests_to("broken", "post")]
    assert len(keys) == 2
    assert len(set(keys)) == 1


def test_without_wait_for_delivery_the_seller_is_answered_at_once(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [posting(mock, "slow", "30.00", timeout_ms=2000)], [campaign(wait_for_delivery=False)]
        )
    )
    pinged = market.ping()
    body = {"ping_id": pinged["ping_id"], "fields": {**PING, **CONTACT}}
    answer = market.http.post("/api/v1/post", json=body, headers=market.seller()).json()
    assert answer["status"] == "accepted"
    final = _final_answer(market, answer["lead_id"])
    assert (final["status"], final["price"]) == ("sold", "21.00")
    # a repeat of the post gets its first answer; the lead's state is at GET /leads/{id}
    repeat = market.http.post("/api/v1/post", json=body, headers=market.seller()).json()
    assert repeat == answer


def test_past_the_post_deadline_the_seller_gets_pending_and_the_lead_sells_later(
    market: Market, mock: MockBuyer
):
    market.apply(
        marketplace(
            [posting(mock, "slow", "30.00", timeout_ms=2000)], [campaign(post_deadline_ms=200)]
        )
    )
    pinged = market.ping()
    body = {"ping_id": pinged["ping_id"], "fields": {**PING, **CONTACT}}
    answer = market.http.post("/api/v1/post", json=body, headers=market.seller()).json()
    assert answer["status"] == "pending"
    assert _final_answer(market, answer["lead_id"])["status"] == "sold"
    repeat = market.http.post("/api/v1/post", json=body, headers=market.seller()).json()
    assert repeat == answer


def _final_answer(market: Market, lead_id: str) -> dict[str, Any]:
    give_up = time.monotonic() + 10
    while True:
        answer = dict(market.http.get(f"/api/v1/leads/{lead_id}", headers=market.seller()).json())
        if answer["status"] not in ("accepted", "pending") or time.monotonic() > give_up:
            return answer
        time.sleep(0.05)


def _post_attempts(market: Market, lead_id: str) -> list[dict[str, Any]]:
    """The lead's post attempts, once the batching writer has stored one."""
    give_up = time.monotonic() + 10
    while True:
        posts = [a for a in market.lead(lead_id)["attempts"] if a["kind"] == "post"]
        if posts or time.monotonic() > give_up:
            return posts
        time.sleep(0.05)


def test_the_final_answer_is_posted_to_the_campaigns_postback_url(market: Market, mock: MockBuyer):
    postback = f"{mock.url}/postback/acme"
    market.apply(
        marketplace(
            [posting(mock, "taker", "30.00")],
            [campaign(wait_for_delivery=False, postback_url=postback, postback_method="POST")],
        )
    )
    mock.reset()
    answer = market.sell()
    assert answer["status"] == "accepted"
    give_up = time.monotonic() + 10
    while not [r for r in mock.requests if r.path == "/postback/acme"]:
        assert time.monotonic() < give_up, "no postback"
        time.sleep(0.05)
    (sent,) = [r for r in mock.requests if r.path == "/postback/acme"]
    told = json.loads(sent.body)
    assert (told["status"], told["lead_id"], told["price"]) == ("sold", answer["lead_id"], "21.00")


def test_a_lead_every_buyer_refuses_is_rejected_at_once(market: Market, mock: MockBuyer):
    market.apply(marketplace([posting(mock, "refuser", "30.00")]))
    started = time.monotonic()
    answer = market.sell()
    assert answer == {
        "status": "rejected",
        "lead_id": answer["lead_id"],
        "reasons": ["all_buyers_declined"],
    }
    assert time.monotonic() - started < 5  # not left waiting for the post deadline
    lead = market.lead(answer["lead_id"])
    assert (lead["status"], lead["revenue"], lead["cost"]) == ("unsold", "0.00", "0.00")
