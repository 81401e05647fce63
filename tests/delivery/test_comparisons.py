"""Number comparisons (``gt``, ``ge``, ``lt``, ``le``) in response rules, and an order's
strict floor (``floor: {gt: …}``): "bid must be over 10" written as such (issue 16)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pingtree.config.compile import compile_config
from pingtree.config.errors import ConfigError
from pingtree.config.parse import load_yaml
from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.errors import DeliveryConfigError
from pingtree.delivery.read import read_answer
from pingtree.domain.orders import Pricing, PricingKind
from tests.delivery.support import compile_spec


def _ping(response: dict[str, Any]) -> CompiledStep:
    step = {"url": "https://b.example/x", "body": {"fields": [{"from": "zip", "to": "z"}]}}
    ping = compile_spec({"ping": {**step, "response": response}, "post": step}).ping
    assert ping is not None
    return ping


@pytest.mark.parametrize(
    ("score", "accepted"),
    [
        *[("10", False), ("10.00", False), ("10.01", True), ("11", True), ('"12.5"', True)],
        *[('"abc"', False), ('"NaN"', False), ('"1e3"', False), ("true", False), ("null", False)],
    ],
)
def test_an_accepted_rule_with_gt(score: str, accepted: bool) -> None:
    step = _ping({"accepted": {"json": "$.score", "gt": 10}, "bid": {"json": "$.price"}})
    answer = read_answer(step, 200, {}, ('{"score":' + score + ',"price":"5"}').encode())
    assert answer.accepted is accepted


@pytest.mark.parametrize(
    ("price", "bid"),
    [
        *[("4.99", None), ("5", Decimal("5.00")), ("20", Decimal("20.00"))],
        *[("20.01", None), ("35", None)],
    ],
)
def test_a_bid_rule_with_ge_and_le_yields_a_price_only_within_them(
    price: str, bid: Decimal | None
) -> None:
    step = _ping(
        {"accepted": {"status": [200]}, "bid": {"json": "$.price", "ge": "5", "le": "20.00"}}
    )
    assert read_answer(step, 200, {}, ('{"price":' + price + "}").encode()).bid == bid


def test_lt_rejects_and_the_rest_accepts() -> None:
    step = _ping(
        {
            "accepted": {"status": [200]},
            "rejected": {"xpath": "/r/quality", "lt": 3},
            "bid": {"xpath": "/r/price"},
        }
    )
    low = read_answer(step, 200, {}, b"<r><quality>2.9</quality><price>9</price></r>")
    high = read_answer(step, 200, {}, b"<r><quality>3</quality><price>9</price></r>")
    assert (low.accepted, high.accepted, high.bid) == (False, True, Decimal("9.00"))


def test_a_comparison_needs_a_number_and_counts_as_a_test() -> None:
    with pytest.raises(DeliveryConfigError) as caught:
        _ping(
            {
                "accepted": {"json": "$.s", "gt": "ten"},
                "rejected": {"json": "$.r", "present": False, "lt": 1},
                "bid": {"json": "$.price", "le": True},
            }
        )
    assert dict(caught.value.issues) == {
        "ping.response.accepted.gt": 'a number to compare with (10, "10.50")',
        "ping.response.rejected.present": "present: false cannot be combined with other tests",
        "ping.response.bid.le": 'a number to compare with (10, "10.50")',
    }
    # a comparison alone says what holds
    assert _ping({"accepted": {"json": "$.s", "ge": 1}, "bid": {"json": "$.p"}}).response


# --- an order's floor --------------------------------------------------------------------------


def test_a_strict_floor_refuses_the_floor_itself() -> None:
    strict = Pricing(PricingKind.BID, floor=Decimal("10.00"), floor_strict=True)
    at_least = Pricing(PricingKind.BID, floor=Decimal("10.00"))
    assert [strict.below_floor(Decimal(b)) for b in ("9.99", "10.00", "10.01")] == [
        True,
        True,
        False,
    ]
    assert [at_least.below_floor(Decimal(b)) for b in ("9.99", "10.00", "10.01")] == [
        True,
        False,
        False,
    ]


def _config(floor: object) -> str:
    return f"""
verticals:
  - id: auto
    name: Auto
    fields:
      - {{name: zip, type: zip}}
buyers:
  - id: b1
    name: B1
    orders:
      - id: o1
        name: O1
        vertical: auto
        pricing: {{type: bid, floor: {floor}, max_bid: "50"}}
        delivery:
          ping:
            url: https://b.example/ping
            body: {{fields: [{{from: zip, to: zip}}]}}
            response: {{bid: {{json: $.price}}}}
          post: {{same_as: ping, url: https://b.example/post}}
"""


@pytest.mark.parametrize(
    ("floor", "expected"),
    [
        ('"10"', (Decimal("10.00"), False)),
        ('{gt: "10"}', (Decimal("10.00"), True)),
        ("{ge: 10}", (Decimal("10.00"), False)),
    ],
)
def test_floor_in_yaml(floor: str, expected: tuple[Decimal, bool]) -> None:
    pricing = compile_config(load_yaml(_config(floor))).orders["o1"].pricing
    assert (pricing.floor, pricing.floor_strict) == expected


def test_a_floor_names_one_comparison() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_config(load_yaml(_config('{gt: "10", ge: "11"}')))
    assert [(i.path, i.msg) for i in caught.value.issues] == [
        ("buyers[0].orders[0].pricing.floor", "exactly one of gt and ge")
    ]
