"""A multi-leg bid (issue 16): a price per leg read from one answer, each leg judged by the
order's floor and ``max_bid`` on its own, each leg quoted at its own price."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import pytest

from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.ping_outcomes import judge
from pingtree.delivery.read import read_answer
from pingtree.domain.orders import Leg, Order, OrderStatus, Pricing, PricingKind
from pingtree.domain.outcomes import Outcome
from pingtree.flows.ports import BidResult
from tests.delivery.support import compile_spec

_RESPONSE = {
    "accepted": {"json": "$.status", "equals": ["success"]},
    "bid_exclusive": {"json": "$.exclusive"},
    "bid_shared": {"json": "$.shared"},
    "token": {"json": "$.id"},
}
_BOTH = frozenset({Leg.EXCLUSIVE, Leg.SHARED})


def _ping(response: Mapping[str, object]) -> CompiledStep:
    delivery = compile_spec(
        {
            "ping": {"url": "https://b.example/ping", "response": response},
            "post": {"url": "https://b.example/post"},
        }
    )
    assert delivery.ping is not None
    return delivery.ping


def _order(floor: Decimal | None = None, max_bid: Decimal | None = None) -> Order:
    return Order(
        id="o",
        buyer_id="b",
        vertical_id="auto",
        name="o",
        status=OrderStatus.ACTIVE,
        pricing=Pricing(PricingKind.BID, legs=_BOTH, floor=floor, max_bid=max_bid),
    )


def _judged(
    answer: dict[str, object],
    response: dict[str, object] | None = None,
    *,
    floor: Decimal | None = None,
    max_bid: Decimal | None = None,
) -> BidResult:
    body = json.dumps({"status": "success", "id": "t1", **answer}).encode()
    read = read_answer(_ping(response or _RESPONSE), 200, {}, body)
    return judge(_order(floor, max_bid), read, 5)


def test_each_leg_is_priced_at_its_own_bid() -> None:
    result = _judged({"exclusive": "30.00", "shared": 12})
    assert result.outcome is Outcome.BID
    assert result.leg_prices == {Leg.EXCLUSIVE: Decimal("30.00"), Leg.SHARED: Decimal("12.00")}
    assert (result.price, result.token) == (Decimal("30.00"), "t1")
    assert result.reason == "exclusive 30.00, shared 12.00"


def test_a_leg_without_its_own_rule_reads_the_one_bid() -> None:
    response = {**_RESPONSE, "bid": {"json": "$.price"}}
    del response["bid_exclusive"]
    result = _judged({"price": "25.00", "shared": "9.00"}, response)
    assert result.leg_prices == {Leg.EXCLUSIVE: Decimal("25.00"), Leg.SHARED: Decimal("9.00")}


def test_max_bid_refuses_one_leg_and_keeps_the_other() -> None:
    result = _judged({"exclusive": "80.00", "shared": "12.00"}, max_bid=Decimal("50.00"))
    assert result.outcome is Outcome.BID
    assert result.leg_prices == {Leg.SHARED: Decimal("12.00")}
    assert result.reason == "shared 12.00; exclusive 80.00 above max_bid 50.00"


def test_the_floor_refuses_one_leg_and_keeps_the_other() -> None:
    result = _judged({"exclusive": "30.00", "shared": "8.00"}, floor=Decimal("10.00"))
    assert result.leg_prices == {Leg.EXCLUSIVE: Decimal("30.00")}
    assert "shared 8.00 below floor 10.00" in result.reason


@pytest.mark.parametrize(
    ("floor", "max_bid", "outcome"),
    [
        (None, Decimal("10.00"), Outcome.ABOVE_MAX_BID),
        (Decimal("40.00"), None, Outcome.BELOW_FLOOR),
    ],
)
def test_every_leg_refused_is_the_orders_outcome(
    floor: Decimal | None, max_bid: Decimal | None, outcome: Outcome
) -> None:
    result = _judged({"exclusive": "30.00", "shared": "12.00"}, floor=floor, max_bid=max_bid)
    assert result.outcome is outcome
    assert result.leg_prices is None


def test_a_leg_the_order_does_not_buy_is_not_priced() -> None:
    body = json.dumps({"status": "success", "exclusive": "30.00", "shared": "12.00"}).encode()
    answer = read_answer(_ping(_RESPONSE), 200, {}, body)
    shared_only = Order(
        id="o",
        buyer_id="b",
        vertical_id="auto",
        name="o",
        status=OrderStatus.ACTIVE,
        pricing=Pricing(PricingKind.BID, legs=frozenset({Leg.SHARED})),
    )
    result = judge(shared_only, answer, 5)
    assert (result.price, result.leg_prices) == (Decimal("12.00"), {Leg.SHARED: Decimal("12.00")})


def test_no_price_for_any_leg_bought_is_no_bid() -> None:
    result = _judged({"shared": 0})
    assert (result.outcome, result.reason) == (Outcome.NO_BID, "no price")


def test_a_leg_rule_alone_is_a_ping_that_reads_a_bid() -> None:
    assert _ping({"bid_shared": {"json": "$.shared"}}).response.bid_shared is not None
    with pytest.raises(DeliveryConfigError) as raised:
        _ping({})
    assert list(raised.value.issues) == [
        (
            "ping.response.bid",
            "a ping step must read the buyer's bid (bid, bid_exclusive or bid_shared)",
        )
    ]
