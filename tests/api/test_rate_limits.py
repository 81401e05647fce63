"""Sellers' rate limits over real HTTP (DESIGN §8.6): per key and per campaign, 429 with
``Retry-After`` and a body naming the limit; in Redis, shared by every app that uses it.

The app's clock is frozen, so a burst falls in one window of the limits: the counts are
exact, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pingtree.api.app import create_app
from pingtree.mockbuyer import MockBuyer
from pingtree.store.caps import create_redis
from tests.api.conftest import admin_token, market_settings
from tests.api.market import CONTACT, PING, Market, buyer, campaign, marketplace, order
from tests.support.buyers import running_buyers
from tests.support.clock import FrozenClock
from tests.support.databases import backend_kind
from tests.support.server import serve_app


def _limited(**limits: Any) -> dict[str, Any]:
    return marketplace([buyer("b", order("o", "20.00"))], [campaign(rate_limits=limits)])


def _second_key(market: Market) -> dict[str, str]:
    response = market.http.post("/api/v1/admin/campaigns/acme_auto/keys", headers=market.admin)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['api_key']}"}


def _ping(http: httpx.Client, seller: dict[str, str]) -> httpx.Response:
    return http.post("/api/v1/ping", json={"fields": PING}, headers=seller)


def test_a_burst_from_one_key_gets_429s_while_another_key_is_served(market: Market) -> None:
    market.apply(_limited(per_key={"per_second": 3, "per_minute": 100}))
    first, second = market.seller(), _second_key(market)

    statuses = [_ping(market.http, first).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = _ping(market.http, first)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["detail"] == {
        "msg": "too many requests: the key's limit of 3 a second for ping calls",
        "type": "rate_limited",
        "limit": {
            "scope": "key",
            "call": "ping",
            "kind": "per_second",
            "limit": 3,
            "retry_after": 1,
        },
    }
    # the other key has its own room; posts are counted apart from pings
    assert _ping(market.http, second).json()["status"] == "accepted"
    pinged = _ping(market.http, second).json()
    posted = market.http.post(
        "/api/v1/post",
        json={"ping_id": pinged["ping_id"], "fields": {**PING, **CONTACT}},
        headers=second,
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "sold"


def test_a_key_named_in_the_campaign_has_limits_of_its_own(market: Market) -> None:
    market.apply(_limited())
    first, second = market.seller(), _second_key(market)
    own_id = first["Authorization"].split("_")[1]
    config = _limited(per_key={"per_second": 3}, keys={own_id: {"per_second": 1}})
    market.apply(config)
    assert [_ping(market.http, first).status_code for _ in range(2)] == [200, 429]
    assert [_ping(market.http, second).status_code for _ in range(4)] == [200, 200, 200, 429]
    # a key not (yet) issued may be named; an id that cannot be a key's is refused
    config["suppliers"][0]["campaigns"][0]["rate_limits"]["keys"]["0123456789abcdef"] = {}
    market.apply(config)
    config["suppliers"][0]["campaigns"][0]["rate_limits"]["keys"]["pt_nope"] = {}
    response = market.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(config),
        headers={**market.admin, "content-type": "application/yaml"},
    )
    assert response.status_code == 422, response.text
    assert "pt_nope" in response.text


def test_the_campaign_limit_holds_over_all_its_keys_and_frees_in_the_next_window(
    market: Market,
) -> None:
    market.apply(_limited(per_minute=4))
    first, second = market.seller(), _second_key(market)
    assert [_ping(market.http, first).status_code for _ in range(3)] == [200, 200, 200]
    assert _ping(market.http, second).status_code == 200
    refused = _ping(market.http, second)
    assert refused.status_code == 429
    limit = refused.json()["detail"]["limit"]
    assert (limit["scope"], limit["kind"], limit["limit"]) == ("campaign", "per_minute", 4)
    # the frozen clock stands at :00 of a minute: the whole minute is left
    assert refused.headers["retry-after"] == "60"
    # a direct post is another kind of call, with its own count
    direct = market.http.post("/api/v1/leads", json={"fields": {**PING, **CONTACT}}, headers=first)
    assert direct.status_code == 200, direct.text

    market.clock.advance(seconds=60)
    assert _ping(market.http, first).status_code == 200


def test_a_refused_request_counts_for_nothing_and_bad_keys_are_401_first(market: Market) -> None:
    market.apply(_limited(per_key={"per_minute": 2}))
    seller = market.seller()
    assert [_ping(market.http, seller).status_code for _ in range(4)] == [200, 200, 429, 429]
    market.clock.advance(seconds=60)
    assert [_ping(market.http, seller).status_code for _ in range(3)] == [200, 200, 429]
    unknown = {"Authorization": "Bearer pt_nope_nope"}
    assert _ping(market.http, unknown).status_code == 401


@pytest.fixture(scope="module")
def slow() -> Iterator[MockBuyer]:
    # a live bidder that takes 400 ms to answer: pings overlap
    slow = {"bid": {"kind": "fixed", "amount": "30.00"}, "latency": {"kind": "fixed", "ms": 400}}
    with running_buyers({"slow": slow}) as running:
        yield running


def _slow_order(mock: MockBuyer) -> dict[str, Any]:
    delivery = {
        "ping": {
            "url": mock.ping_url("slow"),
            "content_type": "json",
            "timeout_ms": 900,
            "body": {"fields": [{"from": "zip", "to": "zip"}]},
            "response": {
                "accepted": {"json": "$.status", "equals": ["success"]},
                "bid": {"json": "$.price"},
            },
        },
        "post": {
            "same_as": "ping",
            "url": mock.post_url("slow"),
            "body": {"fields": [{"from": "zip", "to": "zip"}]},
        },
    }
    return order("slow_live", None, pricing={"type": "bid"}, delivery=delivery)


def test_concurrent_pings_past_the_limit_are_refused_and_the_places_come_back(
    market: Market, slow: MockBuyer
) -> None:
    config = marketplace(
        [buyer("slow", _slow_order(slow))], [campaign(rate_limits={"concurrent": 2})]
    )
    market.apply(config)
    seller = market.seller()
    base = str(market.http.base_url)

    def one(_: int) -> int:
        with httpx.Client(base_url=base, timeout=30) as http:
            return _ping(http, seller).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(one, range(6)))
    # never more than 2 in flight: at least the 4 sent while 2 were still waiting
    assert statuses.count(429) >= 1
    assert 1 <= statuses.count(200) <= 6 - statuses.count(429)
    # once they ended, their places are free again (given back after the answer)
    for _ in range(50):
        if _ping(market.http, seller).status_code == 200:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the concurrent places were never given back")


def test_an_inbound_profile_is_limited_too_and_answers_in_its_own_format(market: Market) -> None:
    profile = {"id": "flat", "format": "flat_json", "aliases": {"Zip": "zip"}}
    config = marketplace(
        [buyer("b", order("o", "20.00"))],
        [campaign(rate_limits={"per_key": {"per_second": 1}}, inbound=[profile])],
    )
    market.apply(config)
    body = {"Zip": "33101", "state": "FL", "age": 34}
    url = "/api/v1/in/acme_auto/flat/ping"
    assert market.http.post(url, json=body, headers=market.seller()).status_code == 200
    refused = market.http.post(url, json=body, headers=market.seller())
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["detail"]["type"] == "rate_limited"


def test_the_limits_are_refused_when_not_numbers_of_requests(market: Market) -> None:
    config = _limited(per_second=0, per_key={"concurrent": "many"})
    response = market.http.post(
        "/api/v1/admin/config",
        content=yaml.safe_dump(config),
        headers={**market.admin, "content-type": "application/yaml"},
    )
    assert response.status_code == 422, response.text
    text = response.text
    assert "per_second" in text
    assert "concurrent" in text


def test_two_apps_sharing_redis_share_the_limit(tmp_path: Path, clock: FrozenClock) -> None:
    if backend_kind() != "postgres":
        pytest.skip("a PostgreSQL + Redis test: the limit is shared through Redis")
    settings = market_settings(tmp_path)
    assert settings.redis_url is not None
    token = admin_token(settings)
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_app(create_app(settings, clock=clock))) for _ in "ab"]
        one, two = (stack.enter_context(httpx.Client(base_url=u, timeout=30)) for u in urls)
        market = Market(one, token, clock, settings)
        market.apply(_limited(per_minute=5, per_key={"per_minute": 4}))
        seller = market.seller()
        served = [_ping(http, seller).status_code for http in (one, two, one, two)]
        assert served == [200, 200, 200, 200]
        # the key's fifth ping, on either app, is over its limit of 4
        refused = _ping(two, seller)
        assert refused.status_code == 429
        assert refused.json()["detail"]["limit"]["scope"] == "key"
        assert _ping(one, seller).status_code == 429
        # the campaign's fifth, from another key, fits; its sixth does not
        other = _second_key(market)
        assert _ping(two, other).status_code == 200
        assert _ping(one, other).json()["detail"]["limit"]["scope"] == "campaign"
    keys = asyncio.run(_rate_limit_keys(settings.redis_url))
    assert keys
    assert all(key.startswith("pt:rl:{") for key in keys)


async def _rate_limit_keys(url: str) -> list[str]:
    redis = create_redis(url)
    try:
        return sorted([key async for key in redis.scan_iter("pt:rl:*")])
    finally:
        await redis.aclose()
