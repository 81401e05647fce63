"""The counters of the sellers' rate limits (``domain.rate_limits``): in Redis, shared by
every worker of every host, when Redis is configured; in the process otherwise.

:meth:`take` admits a request when every one of its checks has room, and then counts it
against all of them, atomically: all or nothing. A window limit's counter is named by its
window (``…:per_second:1796000000``) and expires soon after it; a ``concurrent`` limit's
counter is a set of the requests in flight, each under a lease, so a worker that dies
mid-request leaks its place only until the lease ends. :meth:`give_back` frees the
places a request held among the ``concurrent`` ones.

In Redis :meth:`take` is one Lua script, one round trip; :meth:`give_back` is sent after
the answer, off the request's path. Keys are ``pt:rl:{<scope>:<owner>}:…``: like the cap
ledger's, the script touches several hash tags at once, so one Redis server (or a
primary with replicas), not a Redis Cluster. When Redis fails, the request is admitted
(a limit protects the service; it must not take it down) and the failure is logged, at
most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pingtree.domain.rate_limits import (
    CONCURRENCY_LEASE_MS,
    Check,
    LimitKind,
    Refusal,
    retry_after_seconds,
)

__all__ = ["LocalRateLimits", "RateLimitCounters", "RedisRateLimits", "create_rate_limits"]

log = logging.getLogger(__name__)

#: how long a window's counter outlives its window (clock skew between hosts)
_AFTER_WINDOW_MS = 2_000
#: the least time between two logs of Redis failing
_LOG_EVERY_SECONDS = 60.0


class RateLimitCounters(Protocol):
    async def take(self, checks: Sequence[Check], request_id: str, now_ms: int) -> Refusal | None:
        """Admit request ``request_id`` (``None``) if every check has room, counting it
        against each; else the first check without room (nothing counted)."""
        ...

    def give_back(self, checks: Sequence[Check], request_id: str) -> None:
        """The request ended: its places among the ``concurrent`` ones are free."""
        ...

    async def stop(self) -> None:
        """Wait (bounded) for what :meth:`give_back` still sends."""
        ...


class LocalRateLimits:
    """The counters of one process (no Redis: one worker's limits are its own)."""

    def __init__(self) -> None:
        #: counter name → admitted requests (window counters) or requests in flight
        self._counts: dict[str, int] = {}
        #: the windows counted, oldest first, to forget them once past
        self._windows: dict[str, int] = {}

    async def take(self, checks: Sequence[Check], request_id: str, now_ms: int) -> Refusal | None:
        if not checks:
            return None
        self._forget_past(now_ms)
        names = [check.counter(now_ms) for check in checks]
        for check, name in zip(checks, names, strict=True):
            if self._counts.get(name, 0) >= check.limit:
                return Refusal(check, retry_after_seconds(check, now_ms))
        for check, name in zip(checks, names, strict=True):
            self._counts[name] = self._counts.get(name, 0) + 1
            if check.kind is not LimitKind.CONCURRENT and name not in self._windows:
                window = check.kind.window_ms
                self._windows[name] = (now_ms // window + 1) * window
        return None

    def give_back(self, checks: Sequence[Check], request_id: str) -> None:
        for check in checks:
            if check.kind is LimitKind.CONCURRENT:
                name = check.counter(0)
                left = self._counts.get(name, 0) - 1
                if left > 0:
                    self._counts[name] = left
                else:
                    self._counts.pop(name, None)

    async def stop(self) -> None:
        return None

    def _forget_past(self, now_ms: int) -> None:
        """Drop the counters of windows that ended (dicts keep insertion order: the
        oldest first, give or take a window's length)."""
        while self._windows:
            name, ends = next(iter(self._windows.items()))
            if ends > now_ms - 60_000:
                return
            del self._windows[name]
            self._counts.pop(name, None)


# KEYS: one counter per check. ARGV: now (ms), the request's id, the lease's end (ms), then
# per check: its kind (w: a window, c: concurrent), its limit, its key's lifetime (ms).
# Answers 0 when admitted, else the (1-based) index of the first check without room.
_TAKE = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local kind, limit = ARGV[1 + 3 * i], tonumber(ARGV[2 + 3 * i])
  if kind == 'w' then
    if tonumber(redis.call('GET', KEYS[i]) or '0') >= limit then return i end
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    if redis.call('ZCARD', KEYS[i]) >= limit then return i end
  end
end
for i = 1, #KEYS do
  local kind, ttl = ARGV[1 + 3 * i], tonumber(ARGV[3 + 3 * i])
  if kind == 'w' then
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end
  else
    redis.call('ZADD', KEYS[i], ARGV[3], ARGV[2])
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 0
"""


class RedisRateLimits:
    """The counters in Redis, shared by every worker of every host."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._pending: set[asyncio.Task[None]] = set()
        self._logged_at = -_LOG_EVERY_SECONDS

    async def take(self, checks: Sequence[Check], request_id: str, now_ms: int) -> Refusal | None:
        if not checks:
            return None
        keys = [_key(check.counter(now_ms)) for check in checks]
        args: list[str | int] = [now_ms, request_id, now_ms + CONCURRENCY_LEASE_MS]
        for check in checks:
            window = check.kind.window_ms
            if check.kind is LimitKind.CONCURRENT:
                args += ["c", check.limit, 2 * CONCURRENCY_LEASE_MS]
            else:
                args += ["w", check.limit, window - now_ms % window + _AFTER_WINDOW_MS]
        try:
            full = int(await self._take(keys=keys, args=args))
        except (RedisError, OSError) as error:
            self._log(error)
            return None
        if full == 0:
            return None
        check = checks[full - 1]
        return Refusal(check, retry_after_seconds(check, now_ms))

    def give_back(self, checks: Sequence[Check], request_id: str) -> None:
        keys = [_key(c.counter(0)) for c in checks if c.kind is LimitKind.CONCURRENT]
        if not keys:
            return
        task = asyncio.create_task(self._give_back(keys, request_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)

    async def _give_back(self, keys: Sequence[str], request_id: str) -> None:
        try:
            if len(keys) == 1:  # the usual case: one command costs less than a pipeline
                await self._redis.zrem(keys[0], request_id)
                return
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, request_id)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._log(error)  # the lease frees the place in time

    def _log(self, error: Exception) -> None:
        if time.monotonic() - self._logged_at >= _LOG_EVERY_SECONDS:
            self._logged_at = time.monotonic()
            log.warning("rate limits: Redis failed, requests admitted unchecked: %r", error)


def _key(counter: str) -> str:
    scope, owner, rest = counter.split(":", 2)
    return f"pt:rl:{{{scope}:{owner}}}:{rest}"


def create_rate_limits(redis: Redis | None) -> RateLimitCounters:
    """Shared counters in Redis when there is one, else this process's."""
    return RedisRateLimits(redis) if redis is not None else LocalRateLimits()
