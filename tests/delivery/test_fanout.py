"""The live-bid fan-out against real mock buyers on 127.0.0.1: one outcome per order, by
one deadline, whatever each buyer does."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from pingtree.delivery.attempts import ATTEMPT_CONTEXT, Attempt
from pingtree.delivery.client import BuyerClient, create_client
from pingtree.delivery.compiled import CompiledDelivery, CompiledLimits
from pingtree.delivery.fanout import HttpBids
from pingtree.domain.orders import Order, OrderStatus, Pricing, PricingKind
from pingtree.domain.outcomes import Outcome
from pingtree.domain.verticals import LeadValue
from pingtree.flows.ports import BidResult
from pingtree.mockbuyer import EndpointConfig, MockBuyer
from tests.delivery.support import compile_spec, resolve_secret

VALUES: dict[str, LeadValue] = {"zip": "33101", "state": "FL", "age": 34}

ENDPOINTS: dict[str, dict[str, Any]] = {
    "json": {"bid": {"kind": "fixed", "amount": "22.40"}, "bid_format": "string"},
    "xml": {"bid": {"kind": "fixed", "amount": "15.00"}, "format": "xml"},
    "low": {"bid": {"kind": "fixed", "amount": "3.00"}},
    "zero": {"ping_accept_rate": 0, "decline_as_zero": True},
    "failure": {"ping_accept_rate": 0},
    "hang": {"misbehaviour": {"kind": "hang"}},
    "reset": {"misbehaviour": {"kind": "reset"}},
    "garbage": {"misbehaviour": {"kind": "garbage"}},
    "huge": {"misbehaviour": {"kind": "huge"}},
    "bomb": {"format": "xml", "misbehaviour": {"kind": "entity_bomb"}},
    "unavailable": {"misbehaviour": {"kind": "error", "status": 503}},
    "slow": {"latency": 150},
    "late": {"latency": 300},
}

JSON_RULES = {
    "accepted": {"json": "$.status", "equals": ["success"]},
    "bid": {"json": "$.price"},
    "token": {"json": "$.ping_id"},
    "reason": {"json": "$.reason"},
}
XML_RULES = {
    "accepted": {"xpath": "/response/status", "equals": ["success"]},
    "bid": {"xpath": "/response/price"},
    "token": {"xpath": "/response/ping_id"},
    "reason": {"xpath": "/response/reason"},
}

#: the mock buyers live on loopback, which a real deployment never calls
LOOPBACK = ("127.0.0.1",)


def spec(ping_url: str, timeout_ms: int = 800, **ping: Any) -> CompiledDelivery:
    """A ping step asking ``ping_url`` for a price with two non-PII fields."""
    base, name, _ = ping_url.rsplit("/", 2)
    xml = ENDPOINTS.get(name, {}).get("format") == "xml"
    step = {
        "url": ping_url,
        "content_type": "json",
        "timeout_ms": timeout_ms,
        "body": {"fields": [{"from": "zip", "to": "zip"}, {"from": "state", "to": "state"}]},
        "response": XML_RULES if xml else JSON_RULES,
        **ping,
    }
    return compile_spec({"ping": step, "post": {"same_as": "ping", "url": f"{base}/{name}/post"}})


def bid_order(order_id: str, floor: str | None = None) -> Order:
    return Order(
        id=order_id,
        buyer_id=f"buyer_{order_id}",
        vertical_id="auto",
        name=order_id,
        status=OrderStatus.ACTIVE,
        pricing=Pricing(PricingKind.BID, floor=Decimal(floor) if floor else None),
    )


class Market:
    """Orders named after mock endpoints, their deliveries, and the fan-out over them."""

    def __init__(self, buyer: MockBuyer, client: BuyerClient) -> None:
        self.buyer = buyer
        self.client = client
        self.deliveries: dict[str, CompiledDelivery] = {}
        self.attempts: list[Attempt] = []
        self.bids = HttpBids(client, resolve_secret, self)
        self.orders: dict[str, Order] = {}

    def record(self, attempt: Attempt) -> None:  # the AttemptLog protocol
        self.attempts.append(attempt)

    def order(
        self,
        name: str,
        *,
        floor: str | None = None,
        order_id: str | None = None,
        limits: CompiledLimits | None = None,
        **ping: Any,
    ) -> Order:
        order = bid_order(order_id or name, floor)
        delivery = spec(self.buyer.ping_url(name), **ping)
        if limits is not None:
            delivery = dataclasses.replace(delivery, limits=limits)
        self.deliveries[order.id] = delivery
        self.orders[order.id] = order
        return order

    async def collect(
        self, *orders: Order, seconds: float = 1.0
    ) -> tuple[dict[str, BidResult], float]:
        started = time.monotonic()
        results = await self.bids.collect(orders, VALUES, started + seconds, self.deliveries)
        elapsed = time.monotonic() - started
        assert len(results) == len(orders)
        return {r.order_id: r for r in results}, elapsed


@pytest.fixture
async def buyer() -> AsyncIterator[MockBuyer]:
    configs = {name: EndpointConfig.model_validate(c) for name, c in ENDPOINTS.items()}
    async with MockBuyer(configs) as running:
        yield running


@pytest.fixture
async def market(buyer: MockBuyer) -> AsyncIterator[Market]:
    client = create_client(allow=LOOPBACK)
    market = Market(buyer, client)
    try:
        yield market
    finally:
        await market.bids.close()
        await client.close()


async def until(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (a condition on another party's state)
            await asyncio.sleep(0.01)


def outcomes(results: Mapping[str, BidResult]) -> dict[str, tuple[Outcome, str]]:
    return {order_id: (r.outcome, r.reason) for order_id, r in results.items()}


# -- answers ------------------------------------------------------------------------------


async def test_bids_in_json_and_xml_with_the_buyers_token(market: Market, buyer: MockBuyer):
    results, _ = await market.collect(market.order("json"), market.order("xml"))
    assert (results["json"].outcome, results["json"].price) == (Outcome.BID, Decimal("22.40"))
    assert (results["xml"].outcome, results["xml"].price) == (Outcome.BID, Decimal("15.00"))
    assert results["json"].token in buyer.tokens("json")
    assert results["xml"].token in buyer.tokens("xml")
    assert all(r.latency_ms is not None and r.latency_ms < 1000 for r in results.values())
    # the values given, as the step maps them, and nothing else
    (ping,) = buyer.requests_to("json", "ping")
    assert ping.body == b'{"zip":"33101","state":"FL"}'


async def test_a_price_below_the_floor_zero_and_a_failure_are_not_bids(market: Market):
    results, _ = await market.collect(
        market.order("low", floor="5.00"), market.order("zero"), market.order("failure")
    )
    assert outcomes(results) == {
        "low": (Outcome.BELOW_FLOOR, "below floor 5.00"),
        "zero": (Outcome.NO_BID, "no price"),
        "failure": (Outcome.NO_BID, "declined"),
    }
    assert results["low"].price == Decimal("3.00")
    assert results["zero"].token is None


async def test_a_price_above_max_bid_is_its_own_outcome_and_never_opens_the_breaker(
    market: Market,
):
    order = market.order("json", limits=CompiledLimits(breaker_failures=2))
    capped = dataclasses.replace(order, pricing=Pricing(PricingKind.BID, max_bid=Decimal("20.00")))
    seen = []
    for _ in range(4):  # twice the breaker's failures: a healthy buyer is still asked
        results, _ = await market.collect(capped)
        seen.append(results["json"].outcome)
    assert seen == [Outcome.ABOVE_MAX_BID] * 4
    assert results["json"].reason == "price 22.40 above max_bid 20.00"
    assert [a.outcome for a in market.attempts] == ["above_max_bid"] * 4


# -- misbehaving buyers -------------------------------------------------------------------


async def test_broken_buyers_are_errors_and_do_not_hurt_the_others(market: Market):
    names = ["json", "xml", "reset", "garbage", "huge", "bomb", "unavailable", "hang"]
    orders = [market.order(name, timeout_ms=500) for name in names]
    results, elapsed = await market.collect(*orders, seconds=0.6)
    assert outcomes(results) == {
        "json": (Outcome.BID, ""),
        "xml": (Outcome.BID, ""),
        "reset": (Outcome.ERROR, "reset"),
        "garbage": (Outcome.ERROR, "invalid JSON"),
        "huge": (Outcome.ERROR, "answer over 262144 bytes"),
        "bomb": (Outcome.ERROR, "malformed XML"),  # libxml2 refuses the amplification
        "unavailable": (Outcome.ERROR, "HTTP 503"),
        "hang": (Outcome.TIMEOUT, "no answer in 500 ms"),
    }
    assert 0.45 < elapsed < 0.6 + 0.3
    # every buyer answered in well under the hang's timeout
    assert all(results[n].latency_ms < 400 for n in names if n != "hang")  # type: ignore[operator]


async def test_a_hanging_buyer_is_a_timeout_at_the_deadline(market: Market):
    results, elapsed = await market.collect(market.order("hang", timeout_ms=390), seconds=0.4)
    assert results["hang"].outcome is Outcome.TIMEOUT
    assert 0.35 < elapsed < 0.4 + 0.3
    assert 350 <= results["hang"].latency_ms <= 700  # type: ignore[operator]


async def test_an_unset_secret_is_an_error_and_sends_nothing(market: Market, buyer: MockBuyer):
    order = market.order("json", headers={"X-Key": {"secret": "nowhere"}})
    results, _ = await market.collect(order)
    assert outcomes(results) == {"json": (Outcome.ERROR, "secret nowhere is not set")}
    assert buyer.requests == []


async def test_no_exception_escapes(market: Market, buyer: MockBuyer):
    class Broken(dict[str, CompiledDelivery]):
        def get(self, *_: object) -> Any:
            raise RuntimeError("the configuration snapshot was not loaded yet")

    market.deliveries = Broken()
    order = bid_order("json")
    results, _ = await market.collect(order)
    assert outcomes(results) == {"json": (Outcome.ERROR, "internal error")}
    # an order without a ping step is an error too, not a silence
    market.deliveries = {}
    results, _ = await market.collect(order)
    assert outcomes(results) == {"json": (Outcome.ERROR, "no ping step configured")}


# -- deadlines ----------------------------------------------------------------------------


async def test_a_timeout_longer_than_the_time_left_is_cut_to_it(market: Market, buyer: MockBuyer):
    results, elapsed = await market.collect(
        market.order("slow", timeout_ms=1000), market.order("json", timeout_ms=200), seconds=0.1
    )
    # asked all the same, and told less than we wait: it ends as a timeout by the deadline
    assert results["slow"].outcome is Outcome.TIMEOUT
    assert len(buyer.requests_to("slow")) == 1
    assert results["json"].outcome is Outcome.BID
    assert elapsed < 0.3


async def test_a_buyer_whose_p90_cannot_fit_is_skipped_then_probed(
    market: Market, buyer: MockBuyer
):
    order = market.order("slow", timeout_ms=1000)
    # ten answers in ~150 ms teach the fan-out the buyer's latency
    await asyncio.gather(*(market.collect(order, seconds=1.5) for _ in range(10)))
    assert 150 <= market.bids.p90_ms("slow") < 400  # type: ignore[operator]
    # the buyer now promises 100 ms; its record says otherwise
    market.order("slow", timeout_ms=100)
    buyer.reset()
    for _ in range(19):
        results, elapsed = await market.collect(order, seconds=0.12)
        assert results["slow"].outcome is Outcome.SKIPPED_SLOW
        assert results["slow"].reason.startswith("p90 ")
        assert elapsed < 0.05
    assert buyer.requests == []
    # every 20th ping asks anyway, so a buyer that became fast again gets back in
    results, _ = await market.collect(order, seconds=0.12)
    assert results["slow"].outcome is Outcome.TIMEOUT
    assert len(buyer.requests_to("slow", "ping")) == 1


async def test_a_request_still_running_at_the_deadline_finishes_in_the_background(
    market: Market, buyer: MockBuyer
):
    def slow_secret(name: str) -> str:
        time.sleep(0.15)  # a stalled event loop: the request leaves 150 ms late
        return "tok-123"

    market.bids = HttpBids(market.client, slow_secret, market)
    order = market.order("late", timeout_ms=380, auth={"type": "bearer", "token": {"secret": "t"}})
    results, elapsed = await market.collect(order, seconds=0.4)
    assert outcomes(results) == {"late": (Outcome.TIMEOUT, "no answer by the deadline")}
    assert elapsed < 0.4 + 0.1
    assert market.bids.in_background == 1
    # the answer still arrives, on a connection that goes back to the pool
    await until(lambda: not market.bids.in_background)
    (attempt,) = market.attempts
    assert attempt.outcome == "timeout"
    assert attempt.error.startswith("answered after the deadline (bid, ")
    assert attempt.parsed["bid"] == "10.00"
    assert attempt.request_headers["Authorization"] == "•••"
    # its connection went back to the pool: the next ping to this buyer's host reuses it
    results, _ = await market.collect(market.order("json"))
    assert results["json"].outcome is Outcome.BID
    assert buyer.connections_accepted == 1


async def test_close_cancels_requests_left_in_the_background(market: Market, buyer: MockBuyer):
    order = market.order("hang", timeout_ms=2000)
    started = time.monotonic()
    collecting = asyncio.create_task(
        market.bids.collect([order], VALUES, started + 3, market.deliveries)
    )
    await until(lambda: bool(buyer.requests))
    collecting.cancel()  # the ping itself went away
    with pytest.raises(asyncio.CancelledError):
        await collecting
    assert market.bids.in_background == 1
    await market.bids.close()
    assert not market.bids.in_background
    assert time.monotonic() - started < 1


async def test_twenty_buyers_at_once_share_the_deadline(market: Market, buyer: MockBuyer):
    for i in range(20):
        market.order("json", order_id=f"o{i}", timeout_ms=250)
    market.order("hang", timeout_ms=250)
    await market.collect(*market.orders.values(), seconds=0.3)  # connections warm up
    results, elapsed = await market.collect(*market.orders.values(), seconds=0.3)
    assert {r.outcome for id_, r in results.items() if id_ != "hang"} == {Outcome.BID}
    assert results["hang"].outcome is Outcome.TIMEOUT
    assert elapsed < 0.3 + 0.3
    # asked in parallel: all twenty pings arrived within a few milliseconds of each other
    arrivals = [r.received_at for r in buyer.requests_to("json", "ping")[-20:]]
    assert max(arrivals) - min(arrivals) < 0.1


# -- the delivery log ---------------------------------------------------------------------


async def test_each_exchange_is_logged_with_its_secrets_masked(market: Market):
    order = market.order(
        "json",
        url=market.buyer.ping_url("json") + "?src=pt",
        headers={"X-Api-Key": {"secret": "api_key"}, "X-Source": "pingtree"},
        auth={"type": "bearer", "token": {"secret": "shield_token"}},
    )
    token = ATTEMPT_CONTEXT.set(("ping-1", None))
    try:
        results, _ = await market.collect(order)
    finally:
        ATTEMPT_CONTEXT.reset(token)
    sent = next(a for a in market.attempts if a.order_id == "json")
    assert (sent.kind, sent.outcome, sent.ping_id, sent.status) == ("ping", "bid", "ping-1", 200)
    assert sent.request_headers["Authorization"] == "•••"
    assert sent.request_headers["X-Api-Key"] == "•••"
    assert sent.request_headers["X-Source"] == "pingtree"
    assert sent.request_body == '{"zip":"33101","state":"FL"}'
    assert sent.parsed == {
        "accepted": True,
        "bid": "22.40",
        "token": results["json"].token,
        "reason": None,
    }
    assert "22.40" in sent.response_body
    assert "tok-123" not in repr(sent)
    assert "key-456" not in repr(sent)


async def test_an_unreadable_answer_is_logged_with_the_parser_detail(market: Market):
    await market.collect(market.order("garbage"))
    (attempt,) = market.attempts
    assert attempt.outcome == "error"
    assert attempt.error.startswith("invalid JSON")
    assert len(attempt.response_body) <= 2048


# -- protection ---------------------------------------------------------------------------


async def test_pings_beyond_an_orders_concurrency_limit_are_throttled(
    market: Market, buyer: MockBuyer
):
    order = market.order("slow", limits=CompiledLimits(max_concurrent=2))
    rounds = await asyncio.gather(*(market.collect(order) for _ in range(5)))
    outcomes_seen = sorted(str(results["slow"].outcome) for results, _ in rounds)
    assert outcomes_seen == ["bid", "bid", "throttled", "throttled", "throttled"]
    assert len(buyer.requests_to("slow", "ping")) == 2
    throttled = [a for a in market.attempts if a.outcome == "throttled"]
    assert len(throttled) == 3
    assert throttled[0].error == "2 pings in flight (max 2)"


async def test_pings_beyond_an_orders_rate_are_throttled(market: Market, buyer: MockBuyer):
    order = market.order("json", limits=CompiledLimits(per_second=3))
    seen = [str((await market.collect(order))[0]["json"].outcome) for _ in range(5)]
    assert seen == ["bid", "bid", "bid", "throttled", "throttled"]


async def test_the_breaker_opens_after_failures_then_a_probe_closes_it(
    market: Market, buyer: MockBuyer
):
    limits = CompiledLimits(breaker_failures=3, breaker_cooldown_s=0.3)
    order = market.order("unavailable", limits=limits)
    seen = [str((await market.collect(order))[0]["unavailable"].outcome) for _ in range(5)]
    assert seen == ["error", "error", "error", "circuit_open", "circuit_open"]
    assert len(buyer.requests_to("unavailable", "ping")) == 3
    # after the cool-down one probe goes out; the buyer is healthy again, so it closes
    market.deliveries["unavailable"] = dataclasses.replace(
        spec(buyer.ping_url("json")), limits=limits
    )
    await asyncio.sleep(0.35)
    probe, closed = [(await market.collect(order))[0]["unavailable"] for _ in range(2)]
    assert (probe.outcome, closed.outcome) == (Outcome.BID, Outcome.BID)


async def test_a_failed_probe_opens_the_breaker_again(market: Market, buyer: MockBuyer):
    order = market.order(
        "unavailable", limits=CompiledLimits(breaker_failures=1, breaker_cooldown_s=0.2)
    )
    await market.collect(order)
    await asyncio.sleep(0.25)
    probe = (await market.collect(order))[0]["unavailable"]
    after = (await market.collect(order))[0]["unavailable"]
    assert (probe.outcome, after.outcome) == (Outcome.ERROR, Outcome.CIRCUIT_OPEN)


# -- ping retries ---------------------------------------------------------------------------------


async def test_a_ping_is_retried_after_a_refused_connection_within_its_deadline(
    market: Market,
):
    """A buyer that refuses for a moment (restarting) is asked again, with ``retries``."""
    gate = socket.socket()
    gate.bind(("127.0.0.1", 0))  # bound, not listening: a connection is refused
    port = gate.getsockname()[1]
    configs = {"back": EndpointConfig.model_validate(ENDPOINTS["json"])}
    restarted = MockBuyer(configs, port=port)

    async def restart() -> None:
        await asyncio.sleep(0.01)
        gate.close()
        await restarted.__aenter__()

    url = f"http://127.0.0.1:{port}/back/ping"
    once = bid_order("once")
    again = bid_order("again")
    market.deliveries["once"] = spec(url)
    market.deliveries["again"] = spec(url, retries=3)
    starting = asyncio.create_task(restart())
    try:
        results, elapsed = await market.collect(once, again)
        await starting
    finally:
        await restarted.__aexit__(None, None, None)
    assert outcomes(results)["once"] == (Outcome.ERROR, "connect failed")
    assert (results["again"].outcome, results["again"].price) == (Outcome.BID, Decimal("22.40"))
    assert elapsed < 0.5
    # the log has a line per try: each refused one says so, then the bid
    logged = [a for a in market.attempts if a.order_id == "again"]
    *refused, answered = logged
    assert refused, "the first try was refused"
    assert [(a.outcome, a.error, a.status) for a in refused] == [
        ("retry", f"connect failed: try {n} of 4, sent again", None)
        for n in range(1, len(refused) + 1)
    ]
    assert (answered.outcome, answered.status) == ("bid", 200)
    assert [a.started_at for a in logged] == sorted(a.started_at for a in logged)
    assert len({a.id for a in logged}) == len(logged)
    assert all(a.method == "POST" and a.url == url for a in logged)
    (not_retried,) = [a for a in market.attempts if a.order_id == "once"]
    assert (not_retried.outcome, not_retried.error.startswith("connect")) == ("error", True)


async def test_a_ping_is_not_retried_once_a_byte_may_have_left(market: Market, buyer: MockBuyer):
    buyer.reset()
    results, _ = await market.collect(
        market.order("reset", retries=3), market.order("unavailable", retries=3)
    )
    assert {r.outcome for r in results.values()} == {Outcome.ERROR}
    assert len(buyer.requests_to("reset", "ping")) == 1
    assert len(buyer.requests_to("unavailable", "ping")) == 1


async def test_every_try_of_a_refused_ping_is_logged(market: Market):
    """Retries used up: a line per re-sent try (``retry``), then the last one's error."""
    gate = socket.socket()
    gate.bind(("127.0.0.1", 0))  # bound, not listening: every connection is refused
    try:
        order = bid_order("refused")
        market.deliveries["refused"] = spec(
            f"http://127.0.0.1:{gate.getsockname()[1]}/x/ping", retries=2
        )
        with_token = ATTEMPT_CONTEXT.set(("ping-7", None))
        try:
            results, _ = await market.collect(order, seconds=2.0)
        finally:
            ATTEMPT_CONTEXT.reset(with_token)
    finally:
        gate.close()
    assert outcomes(results)["refused"] == (Outcome.ERROR, "connect failed")
    *refused, last = market.attempts
    assert [(a.outcome, a.error, a.ping_id) for a in refused] == [
        ("retry", "connect failed: try 1 of 3, sent again", "ping-7"),
        ("retry", "connect failed: try 2 of 3, sent again", "ping-7"),
    ]
    assert (last.outcome, last.error.split(":")[0], last.ping_id) == ("error", "connect", "ping-7")


async def test_ping_retries_end_at_the_deadline(market: Market):
    gate = socket.socket()
    gate.bind(("127.0.0.1", 0))
    try:
        order = bid_order("refused")
        market.deliveries["refused"] = spec(
            f"http://127.0.0.1:{gate.getsockname()[1]}/x/ping", retries=5
        )
        results, elapsed = await market.collect(order, seconds=0.1)
    finally:
        gate.close()
    assert results["refused"].outcome in (Outcome.ERROR, Outcome.TIMEOUT)
    assert elapsed < 0.2  # five pauses would take 0.3 s: the deadline cut them short
