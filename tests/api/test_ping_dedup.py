"""Ping-time dedup over real HTTP (DESIGN §8.2): the duplicate-ping cache, and a hashed
phone or email checked against the dedup history without the PII itself."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers
from tests.support.databases import backend_kind


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


#: the market's consumer, as the posting instructions tell sellers to hash them
PHONE_HASH = _sha256("3055550142")
EMAIL_HASH = _sha256("ana@example.com")


def _ping(market: Market, fields: dict[str, Any], **body: Any) -> httpx.Response:
    return market.http.post(
        "/api/v1/ping", json={"fields": fields, **body}, headers=market.seller()
    )


def test_a_repeated_ping_gets_the_first_answer_within_the_window(market: Market) -> None:
    market.apply(
        marketplace(
            [buyer("b", order("o", "20.00"))],
            [campaign(ping_dedup={"window_seconds": 120})],
        )
    )
    first = market.ping()
    assert first["status"] == "accepted"
    again = market.ping({**PING, "sub_id": "another-click"})  # tracking fields left out
    assert again == first
    # another consumer is auctioned on its own
    other = market.ping({**PING, "zip": "33102"})
    assert other["ping_id"] != first["ping_id"]
    # the first answer's ping can be posted once, as ever
    assert market.post(first["ping_id"])["status"] == "sold"
    if backend_kind() == "sqlite":  # the in-process cache reads the app's (frozen) clock
        market.clock.advance(seconds=121)
        assert market.ping()["ping_id"] != first["ping_id"]


@pytest.fixture(scope="module")
def slow() -> Iterator[MockBuyer]:
    # a live bidder that takes 300 ms to answer: a repeat arrives while the first is out
    slow = {"bid": {"kind": "fixed", "amount": "30.00"}, "latency": {"kind": "fixed", "ms": 300}}
    with running_buyers({"slow": slow}) as running:
        yield running


def _live(mock: MockBuyer) -> dict[str, Any]:
    step = {
        "url": mock.ping_url("slow"),
        "content_type": "json",
        "timeout_ms": 800,
        "body": {"fields": [{"from": "zip", "to": "zip"}]},
        "response": {
            "accepted": {"json": "$.status", "equals": ["success"]},
            "bid": {"json": "$.price"},
        },
    }
    post = {"same_as": "ping", "url": mock.post_url("slow"), "body": step["body"]}
    return order("slow_live", None, pricing={"type": "bid"}, delivery={"ping": step, "post": post})


def test_a_repeat_sent_while_the_first_is_auctioned_waits_for_its_answer(
    market: Market, slow: MockBuyer
) -> None:
    config = marketplace([buyer("slow", _live(slow))], [campaign(ping_dedup={})])
    market.apply(config)
    seller, base = market.seller(), str(market.http.base_url)

    def one(_: int) -> dict[str, Any]:
        with httpx.Client(base_url=base, timeout=30) as http:
            return dict(http.post("/api/v1/ping", json={"fields": PING}, headers=seller).json())

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(one, range(3)))
    assert answers[0]["status"] == "accepted"
    assert answers[0]["bid"] == "21.00"
    assert answers == [answers[0]] * 3


def test_a_repeated_ping_is_a_duplicate_by_setting(market: Market) -> None:
    dedup = {"window_seconds": 600, "on_repeat": "reject", "fields": ["zip", "age"]}
    market.apply(marketplace([buyer("b", order("o", "20.00"))], [campaign(ping_dedup=dedup)]))
    first = market.ping()
    assert first["status"] == "accepted"
    # the fingerprint reads zip and age only: another credit is the same consumer
    again = market.ping({**PING, "credit": "poor"})
    assert again["status"] == "rejected"
    assert again["reasons"] == ["duplicate"]
    assert again["ping_id"] != first["ping_id"]
    assert market.ping_trace(again["ping_id"])["status"] == "rejected"
    # a test ping never takes part in dedup: auctioned (among test orders: none here)
    assert market.ping(test=True)["reasons"] == ["no_eligible_buyers"]


def test_hashed_phone_and_email_tell_consumers_apart_in_the_cache(market: Market) -> None:
    market.apply(
        marketplace(
            [buyer("b", order("o", "20.00"))], [campaign(ping_dedup={"window_seconds": 60})]
        )
    )
    first = market.ping({**PING, "phone_hash": PHONE_HASH})
    # upper-case hex is the same hash
    assert market.ping({**PING, "phone_hash": PHONE_HASH.upper()}) == first
    someone_else = market.ping({**PING, "phone_hash": _sha256("3055550199")})
    assert someone_else["ping_id"] != first["ping_id"]
    # the hash is not stored with the ping
    stored = market.ping_trace(first["ping_id"])
    assert "phone_hash" not in stored["fields"]
    assert PHONE_HASH not in str(stored)


def test_a_hashed_phone_sold_within_the_inbound_window_is_a_duplicate(market: Market) -> None:
    market.apply(marketplace([buyer("b", order("o", "20.00"))], [campaign(inbound_dedup_days=10)]))
    assert market.sell()["status"] == "sold"
    market.clock.advance(days=3)
    assert _ping(market, {**PING, "phone_hash": PHONE_HASH}).json()["reasons"] == ["duplicate"]
    assert _ping(market, {**PING, "email_hash": EMAIL_HASH}).json()["reasons"] == ["duplicate"]
    fresh = _ping(market, {**PING, "email_hash": _sha256("zoe@example.com")}).json()
    assert fresh["status"] == "accepted"
    # without a hash the ping cannot be told from any other: it is auctioned
    assert market.ping()["status"] == "accepted"
    market.clock.advance(days=8)
    assert _ping(market, {**PING, "phone_hash": PHONE_HASH}).json()["status"] == "accepted"


def test_a_seller_sends_the_hash_under_its_own_name(market: Market) -> None:
    profile = {
        "id": "flat",
        "format": "flat_json",
        "aliases": {"Zip": "zip", "PhoneSHA": "phone_hash"},
    }
    spec = campaign(inbound_dedup_days=10, inbound=[profile])
    market.apply(marketplace([buyer("b", order("o", "20.00"))], [spec]))
    assert market.sell()["status"] == "sold"
    url = "/api/v1/in/acme_auto/flat/ping"
    body = {"Zip": "33101", "state": "FL", "age": 34}
    seller = market.seller()
    answer = market.http.post(url, json={**body, "PhoneSHA": PHONE_HASH}, headers=seller)
    assert answer.json()["reasons"] == ["duplicate"]
    bad = market.http.post(url, json={**body, "PhoneSHA": "nope"}, headers=seller)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "PhoneSHA"]


def test_a_buyer_that_bought_the_hashed_consumer_is_left_out_of_the_ping(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("picky", order("picky", "30.00", dedup_days=30)),
                buyer("other", order("other", "10.00")),
            ]
        )
    )
    sold = market.sell()
    assert [s["order_id"] for s in market.lead(sold["lead_id"])["sales"]] == ["picky"]
    market.clock.advance(days=7)
    pinged = _ping(market, {**PING, "phone_hash": PHONE_HASH}).json()
    assert pinged["bid"] == "7.00"  # the other buyer's price, at the campaign's 70 %
    assert market.outcomes(pinged["ping_id"])["picky"][0] == "dedup"
    # without the hash the picky buyer bids, and would meet its dedup at the post
    assert market.ping()["bid"] == "21.00"


def test_a_malformed_hash_is_a_422_naming_the_field(market: Market) -> None:
    market.apply(marketplace([buyer("b", order("o", "20.00"))]))
    response = _ping(market, {**PING, "phone_hash": "3055550142", "email_hash": 7})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "3055550142" not in response.text  # the phone sent as its hash is not echoed
    locs = {tuple(e["loc"]): e["type"] for e in detail}
    assert locs == {
        ("body", "fields", "phone_hash"): "invalid_hash",
        ("body", "fields", "email_hash"): "invalid_hash",
    }


def test_dedup_fields_must_be_the_verticals_non_pii_fields(market: Market) -> None:
    dedup = {"fields": ["zip", "phone", "nope"]}
    config = marketplace([buyer("b", order("o", "20.00"))], [campaign(ping_dedup=dedup)])
    response = market.http.post("/api/v1/admin/config", json=config, headers=market.admin)
    assert response.status_code == 422, response.text
    messages = {e["loc"][-1]: e["msg"] for e in response.json()["detail"]}
    assert any("PII" in m for m in messages.values()), messages
    assert any("unknown field" in m for m in messages.values()), messages
