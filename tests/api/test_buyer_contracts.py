"""Buyers' published contracts configured through YAML alone, end to end over the real
HTTP API against mock buyers on loopback (issue 16)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers

BUYERS: dict[str, dict[str, Any]] = {
    # answers {"status": "success", "price": …, "ping_id": …}: an accept-only reading
    # ignores the price
    "yesno": {"bid": {"kind": "fixed", "amount": "1.00"}},
    "never": {"ping_accept_rate": 0},
    "busy": {"check_token": False, "misbehaviour": {"kind": "error", "status": 503, "on": "post"}},
    "taker": {"check_token": False},
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def accept_only_order(mock: MockBuyer, name: str, **pricing: str) -> dict[str, Any]:
    """A fixed-price order whose buyer is pinged for a yes or no and a reference."""
    delivery = {
        "ping": {
            "url": mock.ping_url(name),
            "timeout_ms": 500,
            "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "state", "to": "state"}]},
            "response": {
                "accepted": {"json": "$.status", "equals": ["success"]},
                "token": {"json": "$.ping_id"},
                "reason": {"json": "$.reason"},
            },
        },
        "post": {
            "same_as": "ping",
            "url": mock.post_url(name),
            "body": {
                "fields": [
                    {"from": "token", "to": "ping_id"},
                    {"from": "zip", "to": "zip"},
                    {"from": "phone", "to": "phone"},
                ]
            },
        },
    }
    return order(f"{name}_fixed", None, pricing={"type": "fixed", **pricing}, delivery=delivery)


def test_an_accept_only_fixed_price_buyer_is_pinged_and_its_token_reaches_the_post(
    market: Market, mock: MockBuyer
) -> None:
    market.apply(
        marketplace(
            [
                buyer("cheap", order("cheap_all", "18.00")),
                buyer("yesno", accept_only_order(mock, "yesno", exclusive="30.00")),
            ]
        )
    )
    mock.reset()
    pinged = market.ping()
    assert (pinged["status"], pinged["bid"]) == ("accepted", "21.00")  # 70 % of 30.00
    trace = market.ping_trace(pinged["ping_id"])["auction"]
    rows = {row["order_id"]: row for row in trace["candidates"]}
    assert (rows["yesno_fixed"]["outcome"], rows["yesno_fixed"]["price"]) == ("fixed", "30.00")
    assert trace["winners"] == ["yesno_fixed"]
    (ping,) = mock.requests_to("yesno", "ping")
    assert json.loads(ping.body) == {"zip": "33101", "state": "FL"}
    answer = market.post(pinged["ping_id"])
    assert (answer["status"], answer["price"]) == ("sold", "21.00")
    (post,) = mock.requests_to("yesno", "post")
    token = trace["tokens"]["yesno_fixed"]
    # the mock buyer takes a post only with a token its own ping issued
    assert json.loads(post.body)["ping_id"] == token
    assert token in mock.tokens("yesno")


def test_an_accept_only_winners_line_reads_the_price_of_the_leg_sold(
    market: Market, mock: MockBuyer
) -> None:
    shared_only = {"type": "fixed", "shared": "20.00"}
    market.apply(
        marketplace(
            [
                buyer("cheap", order("cheap_shared", None, pricing=shared_only)),
                buyer("yesno", accept_only_order(mock, "yesno", exclusive="30.00", shared="12.00")),
            ],
            [campaign(max_sells=2)],
        )
    )
    pinged = market.ping()
    trace = market.ping_trace(pinged["ping_id"])["auction"]
    # the shared leg (20.00 + 12.00) outranks the exclusive one (30.00)
    assert sorted(trace["winners"]) == ["cheap_shared", "yesno_fixed"]
    rows = {row["order_id"]: row for row in trace["candidates"]}
    assert (rows["yesno_fixed"]["outcome"], rows["yesno_fixed"]["price"]) == ("fixed", "12.00")


def test_an_accept_only_buyer_that_declines_is_not_priced(market: Market, mock: MockBuyer):
    market.apply(
        marketplace(
            [
                buyer("cheap", order("cheap_all", "18.00")),
                buyer("never", accept_only_order(mock, "never", exclusive="30.00")),
            ]
        )
    )
    pinged = market.ping()
    assert (pinged["status"], pinged["bid"]) == ("accepted", "12.60")  # 70 % of 18.00
    assert market.outcomes(pinged["ping_id"])["never_fixed"] == ("no_bid", "declined")


def test_a_fixed_price_ping_reads_no_bid(market: Market, mock: MockBuyer) -> None:
    spec = accept_only_order(mock, "yesno", exclusive="30.00")
    spec["delivery"]["ping"]["response"]["bid"] = {"json": "$.price"}
    response = market.http.post(
        "/api/v1/admin/config",
        json=marketplace([buyer("yesno", spec)]),
        headers=market.admin,
    )
    assert response.status_code == 422, response.text
    assert "buyers[0].orders[0].delivery.ping.response.bid" in response.text
    assert "never a bid" in response.text


# --- the delivery log ---------------------------------------------------------------------------


def posting(mock: MockBuyer, name: str, price: str, **post: Any) -> dict[str, Any]:
    """A fixed-price order of buyer ``name`` posting its leads to its mock endpoint."""
    step = {
        "url": mock.post_url(name),
        "timeout_ms": 300,
        "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "phone", "to": "phone"}]},
        "response": {"accepted": {"json": "$.status", "equals": ["success"]}},
        **post,
    }
    return buyer(name, order(f"{name}_fixed", price, delivery={"post": step}))


def post_attempts(market: Market, lead_id: str, order_id: str, count: int) -> list[str]:
    """The outcomes of the order's post attempts at the lead, once ``count`` are stored."""
    give_up = time.monotonic() + 10
    while True:
        found = [
            (a["outcome"], a["error"])
            for a in market.lead(lead_id)["attempts"]
            if a["order_id"] == order_id and a["kind"] == "post"
        ]
        if len(found) >= count or time.monotonic() > give_up:
            return [f"{outcome}: {error}" for outcome, error in found]
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("retries", "logged"),
    [
        (0, ["failed: HTTP 503 (not retried)"]),
        (1, ["retry: HTTP 503", "failed: HTTP 503 (not retried)"]),
    ],
)
def test_the_log_says_retry_only_for_a_post_that_is_retried(
    market: Market, mock: MockBuyer, retries: int, logged: list[str]
) -> None:
    market.apply(
        marketplace(
            [posting(mock, "busy", "30.00", retries=retries), posting(mock, "taker", "20.00")]
        )
    )
    answer = market.sell()
    assert answer["status"] == "sold"
    assert post_attempts(market, answer["lead_id"], "busy_fixed", len(logged)) == logged


def test_a_retried_ping_is_logged_a_line_per_try(market: Market, mock: MockBuyer) -> None:
    """A bid order whose endpoint refuses connections (retries: 2): three tries, three
    lines in the stored delivery log, the two re-sent ones saying so."""
    gate = socket.socket()
    gate.bind(("127.0.0.1", 0))  # bound, never listening: each connection is refused
    try:
        refused = order(
            "restarting_live",
            None,
            pricing={"type": "bid"},
            delivery={
                "ping": {
                    "url": f"http://127.0.0.1:{gate.getsockname()[1]}/ping",
                    "timeout_ms": 500,
                    "retries": 2,
                    "body": {"fields": [{"from": "zip", "to": "zip"}]},
                    "response": {"bid": {"json": "$.price"}},
                },
                "post": {"same_as": "ping"},
            },
        )
        market.apply(
            marketplace([buyer("cheap", order("cheap_all", "18.00")), buyer("restarting", refused)])
        )
        pinged = market.ping()
    finally:
        gate.close()
    assert pinged["status"] == "accepted", pinged
    give_up = time.monotonic() + 10
    while True:
        tries = [
            (a["outcome"], a["error"].split(",")[0])
            for a in market.ping_trace(pinged["ping_id"])["attempts"]
            if a["order_id"] == "restarting_live"
        ]
        if len(tries) >= 3 or time.monotonic() > give_up:
            break
        time.sleep(0.05)
    assert sorted(t for t in tries if t[0] == "retry") == [
        ("retry", "connect failed: try 1 of 3"),
        ("retry", "connect failed: try 2 of 3"),
    ]
    ((outcome, error),) = [t for t in tries if t[0] != "retry"]  # the last try
    assert (outcome, error.split(":")[0]) == ("error", "connect")
