"""Every request is recorded; latency is (roughly) what was configured."""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time

import aiohttp
import orjson
import pytest

from pingtree.mockbuyer import EndpointConfig, LognormalLatency
from pingtree.mockbuyer.endpoint import latency_sampler
from tests.mockbuyer.conftest import StartBuyer


async def test_records_method_path_headers_body_and_time(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"acme": {}})
    before = time.time()

    async with http.post(
        buyer.ping_url("acme") + "?src=7",
        data=b'{"zip":"10001"}',
        headers={"Content-Type": "application/json", "X-Api-Key": "k1"},
    ):
        pass
    async with http.get(f"{buyer.url}/nobody/ping"):
        pass

    first, second = buyer.requests
    assert (first.endpoint, first.kind, first.method) == ("acme", "ping", "POST")
    assert (first.path, first.query_string) == ("/acme/ping", "src=7")
    assert first.headers["X-Api-Key"] == "k1"
    assert first.headers["content-type"] == "application/json"  # case-insensitive
    assert first.body == b'{"zip":"10001"}'
    assert before <= first.received_at <= time.time()
    assert (second.endpoint, second.kind, second.method) == (None, "ping", "GET")
    assert buyer.requests_to("acme") == [first]
    assert buyer.requests_to("acme", "post") == []


async def test_no_pii_byte_reached_the_ping_endpoint(http, start_buyer: StartBuyer):
    """The kind of check flow tests make: PII only ever reaches the post."""
    buyer = await start_buyer({"acme": {}})
    pii = {"email": "jane@example.com", "phone": "2125550100"}

    async with http.post(buyer.ping_url("acme"), json={"zip": "10001"}) as response:
        token = (await response.json())["ping_id"]
    async with http.post(buyer.post_url("acme"), json={"ping_id": token, **pii}):
        pass

    for request in buyer.requests_to("acme", "ping"):
        for value in pii.values():
            assert value.encode() not in request.body
            assert all(value not in v for v in request.headers.values())
    (post,) = buyer.requests_to("acme", "post")
    assert orjson.loads(post.body)["email"] == "jane@example.com"


async def test_reset_forgets_requests_and_connections_but_not_tokens(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"acme": {}})
    async with http.post(buyer.ping_url("acme")) as response:
        token = (await response.json())["ping_id"]
    assert buyer.connections_accepted == 1

    buyer.reset()

    assert buyer.requests == []
    assert buyer.connections_accepted == 0
    async with http.post(buyer.post_url("acme"), json={"ping_id": token}) as response:
        assert (await response.json())["status"] == "success"
    assert len(buyer.requests) == 1


async def test_connection_numbers_show_keep_alive(start_buyer: StartBuyer):
    buyer = await start_buyer({"acme": {}})

    async with aiohttp.ClientSession() as keep:
        for _ in range(5):
            async with keep.post(buyer.ping_url("acme")) as response:
                await response.read()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh:
        for _ in range(3):
            async with fresh.post(buyer.ping_url("acme")) as response:
                await response.read()

    assert [r.connection for r in buyer.requests] == [1, 1, 1, 1, 1, 2, 3, 4]
    assert buyer.connections_accepted == 4


async def test_recording_can_be_turned_off(http):
    from pingtree.mockbuyer import MockBuyer

    async with MockBuyer({"acme": EndpointConfig()}, record=False) as buyer:
        async with http.post(buyer.ping_url("acme")) as response:
            assert response.status == 200
        assert buyer.requests == []


async def timed(http: aiohttp.ClientSession, url: str) -> float:
    started = time.monotonic()
    async with http.post(url) as response:
        await response.read()
    return time.monotonic() - started


async def test_fixed_latency(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"slow": {"latency": 200}, "fast": {}})

    slow = await timed(http, buyer.ping_url("slow"))
    fast = await timed(http, buyer.ping_url("fast"))

    assert 0.19 <= slow < 1.5
    assert fast < slow


async def test_latency_applies_to_misbehaviour_too(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"e": {"latency": 150, "misbehaviour": {"kind": "error"}}})

    assert 0.14 <= await timed(http, buyer.ping_url("e")) < 1.5


async def test_uniform_latency_in_parallel(http, start_buyer: StartBuyer):
    buyer = await start_buyer({"u": {"latency": {"kind": "uniform", "min_ms": 100, "max_ms": 200}}})

    started = time.monotonic()
    each = await asyncio.gather(*(timed(http, buyer.ping_url("u")) for _ in range(20)))
    total = time.monotonic() - started

    assert all(0.09 <= t < 1.5 for t in each)
    assert total < 1.5  # slept concurrently, not one after another
    assert max(each) - min(each) > 0.02  # drawn, not fixed


def test_lognormal_latency_has_the_configured_median_and_p99():
    config = EndpointConfig(latency=LognormalLatency(median_ms=80, p99_ms=900))
    draw = latency_sampler(config, random.Random(1))

    samples = sorted(draw() for _ in range(20_000))

    assert statistics.median(samples) == pytest.approx(0.080, rel=0.05)
    assert samples[int(0.99 * len(samples))] == pytest.approx(0.900, rel=0.15)


def test_lognormal_latency_cap():
    config = EndpointConfig(
        latency={"kind": "lognormal", "median_ms": 50, "p99_ms": 5000, "max_ms": 300}
    )
    draw = latency_sampler(config, random.Random(2))

    samples = [draw() for _ in range(5_000)]

    assert max(samples) == 0.3
    assert not any(math.isnan(s) for s in samples)


async def test_lognormal_latency_over_http(http, start_buyer: StartBuyer):
    buyer = await start_buyer(
        {"ln": {"latency": {"kind": "lognormal", "median_ms": 30, "p99_ms": 120, "max_ms": 400}}}
    )

    each = await asyncio.gather(*(timed(http, buyer.ping_url("ln")) for _ in range(40)))

    assert 0.01 < statistics.median(each) < 0.2
    assert max(each) < 1.5
