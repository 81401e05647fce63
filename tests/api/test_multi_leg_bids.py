"""A multi-leg bidder end to end over the real HTTP API (issue 16): one ping answer prices
the exclusive and the shared leg apart, and the auction compares the exclusive price with
the sum of the shared set's (DESIGN §8.1) using each leg's own price."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.api.market import Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers

# answers {"status": "success", "price": 30.00, "shared_price": "12.00", "ping_id": …}
BUYERS: dict[str, dict[str, Any]] = {
    "legs": {"bid": {"kind": "fixed", "amount": "30.00"}, "extra": {"shared_price": "12.00"}},
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def multi_leg_order(mock: MockBuyer, **pricing: Any) -> dict[str, Any]:
    """A live bid order buying both legs, its buyer pricing each one in its answer."""
    delivery = {
        "ping": {
            "url": mock.ping_url("legs"),
            "timeout_ms": 500,
            "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "state", "to": "state"}]},
            "response": {
                "accepted": {"json": "$.status", "equals": ["success"]},
                "bid_exclusive": {"json": "$.price"},
                "bid_shared": {"json": "$.shared_price"},
                "token": {"json": "$.ping_id"},
            },
        },
        "post": {
            "same_as": "ping",
            "url": mock.post_url("legs"),
            "body": {"fields": [{"from": "token", "to": "ping_id"}, {"from": "zip", "to": "zip"}]},
        },
    }
    spec = {"type": "bid", "legs": ["exclusive", "shared"], **pricing}
    return order("legs_live", None, pricing=spec, delivery=delivery)


def shared_bidder(name: str, price: str) -> dict[str, Any]:
    return buyer(name, order(f"{name}_shared", None, pricing={"type": "fixed", "shared": price}))


@pytest.mark.parametrize(
    ("first", "second", "winners", "leg", "revenue"),
    [
        # 12.00 + 10.00 = 22.00 < 30.00: the multi-leg bidder takes the lead alone
        ("10.00", "9.00", ["legs_live"], "exclusive", "30.00"),
        # the shared set 18.00 + 12.00 ties 30.00: a tie goes shared, the bidder at 12.00
        ("18.00", "10.00", ["a_shared", "legs_live"], "shared", "30.00"),
        # 20.00 + 15.00 = 35.00 > 30.00, and 12.00 ranks third: the bidder loses
        ("20.00", "15.00", ["a_shared", "b_shared"], "shared", "35.00"),
    ],
)
def test_the_exclusive_price_is_weighed_against_the_shared_sets_own_prices(
    market: Market,
    mock: MockBuyer,
    first: str,
    second: str,
    winners: list[str],
    leg: str,
    revenue: str,
) -> None:
    market.apply(
        marketplace(
            [
                buyer("legs", multi_leg_order(mock)),
                shared_bidder("a", first),
                shared_bidder("b", second),
            ],
            [campaign(max_sells=2)],
        )
    )
    pinged = market.ping()
    trace = market.ping_trace(pinged["ping_id"])["auction"]
    assert (sorted(trace["winners"]), trace["leg"], trace["revenue"]) == (winners, leg, revenue)
    ranked = trace["ranking"]
    legs = {(row["leg"], row["price"]) for row in ranked if row["order_id"] == "legs_live"}
    if leg == "exclusive":
        assert legs == {("exclusive", "30.00")}
    else:
        assert legs == {("shared", "12.00")}
    line = {row["order_id"]: row for row in trace["candidates"]}["legs_live"]
    assert (line["outcome"], line["reason"]) == ("bid", "exclusive 30.00, shared 12.00")


def test_max_bid_refuses_the_exclusive_leg_alone(market: Market, mock: MockBuyer) -> None:
    market.apply(
        marketplace(
            [
                buyer("legs", multi_leg_order(mock, max_bid="25.00")),
                shared_bidder("a", "10.00"),
            ],
            [campaign(max_sells=2)],
        )
    )
    mock.reset()
    pinged = market.ping()
    trace = market.ping_trace(pinged["ping_id"])["auction"]
    # without its 30.00 exclusive price the bidder shares the lead at 12.00
    assert (sorted(trace["winners"]), trace["leg"]) == (["a_shared", "legs_live"], "shared")
    assert market.outcomes(pinged["ping_id"])["legs_live"] == (
        "bid",
        "shared 12.00; exclusive 30.00 above max_bid 25.00",
    )
    answer = market.post(pinged["ping_id"])
    assert answer["status"] == "sold"
    (post,) = mock.requests_to("legs", "post")
    assert json.loads(post.body)["ping_id"] == trace["tokens"]["legs_live"]
    # testing the buyer shows each leg's price as the rules read it
    tested = market.http.post(
        "/api/v1/admin/orders/legs_live/test", headers=market.admin, json={"zip": "10001"}
    )
    assert tested.status_code == 200, tested.text
    (ping,) = tested.json()
    assert ping["parsed"]["leg_bids"] == {"exclusive": "30.00", "shared": "12.00"}
