"""The rate limit counters and the duplicate-ping cache, in the process and over a real
Redis: a request is counted against all its limits or none, a window's count ends with
the window, a concurrent place comes back, and a fingerprint is claimed once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pingtree.domain.rate_limits import Check, LimitKind
from pingtree.store.caps import create_redis
from pingtree.store.ping_repeats import (
    PENDING,
    LocalPingRepeats,
    PingRepeats,
    RedisPingRepeats,
)
from pingtree.store.rate_limits import LocalRateLimits, RateLimitCounters, RedisRateLimits
from tests.support.databases import fresh_redis

#: 2026-11-23 15:00:00 UTC, at the start of a second and of a minute
NOW_MS = 1_795_446_000_000


@pytest.fixture(params=["local", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[RateLimitCounters]:
    if request.param == "local":
        yield LocalRateLimits()
        return
    redis = create_redis(await fresh_redis(), max_connections=4)
    limits = RedisRateLimits(redis)
    try:
        yield limits
    finally:
        await limits.stop()
        await redis.aclose()


@pytest.fixture(params=["local", "redis"])
async def repeats(request: pytest.FixtureRequest) -> AsyncIterator[PingRepeats]:
    if request.param == "local":
        yield LocalPingRepeats()
        return
    redis = create_redis(await fresh_redis(), max_connections=4)
    cache = RedisPingRepeats(redis)
    try:
        yield cache
    finally:
        await cache.stop()
        await redis.aclose()


def _check(scope: str, kind: LimitKind, limit: int) -> Check:
    return Check(scope, "c1" if scope == "campaign" else "k1", "ping", kind, limit)


async def test_a_request_is_counted_against_all_its_limits_or_none(
    counters: RateLimitCounters,
) -> None:
    campaign = _check("campaign", LimitKind.PER_MINUTE, 3)
    key = _check("key", LimitKind.PER_SECOND, 1)
    assert await counters.take([campaign, key], "r1", NOW_MS) is None
    refused = await counters.take([campaign, key], "r2", NOW_MS + 10)
    assert refused is not None
    assert refused.check == key
    assert refused.retry_after == 1
    # the refusal took nothing from the campaign's minute: two more fit, not three
    assert await counters.take([campaign, key], "r3", NOW_MS + 1000) is None
    assert await counters.take([campaign, key], "r4", NOW_MS + 2000) is None
    refused = await counters.take([campaign, key], "r5", NOW_MS + 3000)
    assert refused is not None
    assert refused.check == campaign
    assert refused.retry_after == 57
    # the next minute starts afresh
    assert await counters.take([campaign, key], "r6", NOW_MS + 60_000) is None


async def test_a_concurrent_place_comes_back_when_given_back(counters: RateLimitCounters) -> None:
    at_once = _check("key", LimitKind.CONCURRENT, 2)
    assert await counters.take([at_once], "r1", NOW_MS) is None
    assert await counters.take([at_once], "r2", NOW_MS) is None
    refused = await counters.take([at_once], "r3", NOW_MS)
    assert refused is not None
    assert refused.retry_after == 1
    counters.give_back([at_once], "r1")
    await counters.stop()  # what give_back sent has landed
    assert await counters.take([at_once], "r4", NOW_MS) is None


async def test_a_fingerprint_is_claimed_once_then_answered(repeats: PingRepeats) -> None:
    assert await repeats.claim("c1", "f1", NOW_MS) is None
    assert await repeats.claim("c1", "f1", NOW_MS) is PENDING
    assert await repeats.claim("c2", "f1", NOW_MS) is None  # another campaign's
    answer = {"status": "accepted", "ping_id": "p1", "bid": "14.00"}
    repeats.remember("c1", "f1", answer, NOW_MS, 60_000)
    await repeats.stop()
    assert await repeats.claim("c1", "f1", NOW_MS + 1) == answer
