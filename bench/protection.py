"""A micro-benchmark: what the rate limits and the ping dedup add to one ping.

    .venv/bin/python bench/protection.py [--redis redis://127.0.0.1:6379/8] [--n 20000]

Each step is timed in-process over ``--n`` calls (Redis: a fifth of them, sequential, on
loopback), as the ping runs it: the wall time per call, and the thread's CPU time
(``time.thread_time``), which a shared machine's preemption leaves out.

- **limits, none set**: ``flows.rate_limits.admitted`` for a campaign without limits;
- **limits, in-process**: a campaign limit per second and per minute and a key limit in
  flight (three counters), admitted and given back;
- **limits, Redis**: the same three counters in one Lua script, one round trip; the give
  back of the place in flight is a task sent after the answer, whose CPU is counted here
  (it runs between the calls); **rates only**: without the limit in flight (no give back);
- **fingerprint**: the hashes taken out of the fields and the fields' fingerprint;
- **dedup, in-process / Redis**: one claim of a new fingerprint (one round trip).

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from pingtree.domain.campaigns import Campaign, PayoutModel, PingDedup
from pingtree.domain.fields import with_tracking_fields
from pingtree.domain.ping_dedup import fingerprint, take_hashes
from pingtree.domain.rate_limits import RateLimits, checks_for
from pingtree.domain.verticals import FieldSpec, FieldType, Requirement, Vertical
from pingtree.store.caps import create_redis
from pingtree.store.ping_repeats import LocalPingRepeats, PingRepeats, RedisPingRepeats
from pingtree.store.rate_limits import LocalRateLimits, RateLimitCounters, RedisRateLimits

_VERTICAL = Vertical(
    "auto",
    "Auto",
    with_tracking_fields(
        (
            FieldSpec("zip", FieldType.ZIP, ping=Requirement.REQUIRED),
            FieldSpec("state", FieldType.STATE, ping=Requirement.REQUIRED),
            FieldSpec("age", FieldType.INTEGER),
            FieldSpec("phone", FieldType.PHONE, pii=True),
        )
    ),
)
_FIELDS: dict[str, Any] = {
    "zip": "33101",
    "state": "FL",
    "age": 34,
    "phone_hash": hashlib.sha256(b"3055550142").hexdigest(),
}
_LIMITS = RateLimits(per_second=1_000_000, per_minute=1_000_000)
_KEY_LIMITS = RateLimits(concurrent=1_000_000)


def _campaign(limits: bool, concurrent: bool = True) -> Campaign:
    return Campaign(
        "c1",
        "s1",
        "auto",
        "c1",
        frozenset({"ping_post"}),
        PayoutModel.REVENUE_SHARE,
        Decimal(70),
        rate_limits=_LIMITS if limits else RateLimits(),
        key_rate_limits=_KEY_LIMITS if limits and concurrent else RateLimits(),
        ping_dedup=PingDedup(300),
    )


async def _timed(n: int, call: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """Microseconds per call: wall, thread CPU."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for i in range(n):
        await call(i)
    return (
        (time.perf_counter() - wall) / n * 1e6,
        (time.thread_time() - cpu) / n * 1e6,
    )


async def _limits(counters: RateLimitCounters, campaign: Campaign, i: int) -> None:
    checks = checks_for(campaign.id, "k1", "ping", campaign.rate_limits, campaign.key_rate_limits)
    if not checks:
        return
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    refusal = await counters.take(checks, f"r{i}", now_ms)
    assert refusal is None
    counters.give_back(checks, f"r{i}")


async def _fingerprint(_: int) -> None:
    _fields, hashes, _errors = take_hashes(_FIELDS)
    fingerprint(PingDedup(300), _VERTICAL, {"zip": "33101", "state": "FL", "age": 34}, hashes)


async def _claim(repeats: PingRepeats, i: int) -> None:
    await repeats.claim("c1", f"f{i}-{time.monotonic_ns()}", int(time.time() * 1000))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    n, n_redis = args.n, max(args.n // 5, 1)
    redis = create_redis(args.redis, max_connections=4)
    local, shared = LocalRateLimits(), RedisRateLimits(redis)
    rows: list[tuple[str, int, tuple[float, float]]] = []
    try:
        plain, limited, rates = _campaign(False), _campaign(True), _campaign(True, False)
        rows.append(("limits, none set", n, await _timed(n, lambda i: _limits(local, plain, i))))
        rows.append(
            ("limits, in-process", n, await _timed(n, lambda i: _limits(local, limited, i)))
        )
        rows.append(
            ("limits, Redis", n_redis, await _timed(n_redis, lambda i: _limits(shared, limited, i)))
        )
        await shared.stop()
        rows.append(
            (
                "limits, Redis, rates only",
                n_redis,
                await _timed(n_redis, lambda i: _limits(shared, rates, i)),
            )
        )
        rows.append(("fingerprint", n, await _timed(n, _fingerprint)))
        in_process, in_redis = LocalPingRepeats(), RedisPingRepeats(redis)
        rows.append(("dedup, in-process", n, await _timed(n, lambda i: _claim(in_process, i))))
        rows.append(("dedup, Redis", n_redis, await _timed(n_redis, lambda i: _claim(in_redis, i))))
        async for key in redis.scan_iter("pt:pd:{c1}:*"):
            await redis.delete(key)
    finally:
        await redis.aclose()
    print("| step | calls | wall µs/call | CPU µs/call |")
    print("|---|---:|---:|---:|")
    for name, calls, (wall, cpu) in rows:
        print(f"| {name} | {calls} | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
