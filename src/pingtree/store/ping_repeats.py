"""The duplicate-ping cache (``domain.ping_dedup``): a ping's fingerprint → its answer, in
Redis, shared by every worker of every host, when Redis is configured; in the process
otherwise.

:meth:`claim` is the first look, one round trip: a fingerprint not seen claims its place
(for :data:`CLAIM_MS`, while its ping is auctioned) and gets ``None``; a fingerprint seen
gets what is stored, the first ping's answer, or :data:`PENDING` while that ping is still
being auctioned. :meth:`remember` stores the answer for the rest of the window, off the
ping's path (in Redis a task sent after the answer). A claim whose ping never answered
(its process died) frees itself after :data:`CLAIM_MS`.

Keys are ``pt:pd:{<campaign>}:<fingerprint>``; the values are the answers as JSON. A
Redis failure is logged (at most once a minute) and the ping goes on as if first: the
cache saves buyers a repeated question, it must not refuse sellers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = [
    "CLAIM_MS",
    "PENDING",
    "LocalPingRepeats",
    "PingRepeats",
    "RedisPingRepeats",
    "create_ping_repeats",
]

log = logging.getLogger(__name__)

#: how long a fingerprint stays claimed by a ping that has not answered yet
CLAIM_MS = 30_000
#: the first ping with this fingerprint is still being auctioned
PENDING: Final[Mapping[str, Any]] = {}
#: the most fingerprints one process remembers (the oldest are forgotten first)
_LOCAL_MAX = 100_000
_LOG_EVERY_SECONDS = 60.0


class PingRepeats(Protocol):
    async def claim(
        self, campaign_id: str, fingerprint: str, now_ms: int
    ) -> Mapping[str, Any] | None:
        """``None``: the first ping with this fingerprint (now claimed); else the first
        ping's answer, or :data:`PENDING`."""
        ...

    def remember(
        self,
        campaign_id: str,
        fingerprint: str,
        answer: Mapping[str, Any],
        now_ms: int,
        ttl_ms: int,
    ) -> None:
        """Keep ``answer`` as the fingerprint's for ``ttl_ms``."""
        ...

    async def stop(self) -> None:
        """Wait (bounded) for what :meth:`remember` still sends."""
        ...


class LocalPingRepeats:
    """The cache of one process (no Redis)."""

    def __init__(self, max_entries: int = _LOCAL_MAX) -> None:
        #: key → (until, answer); insertion order is roughly expiry order
        self._entries: OrderedDict[str, tuple[int, Mapping[str, Any]]] = OrderedDict()
        self._max = max_entries

    async def claim(
        self, campaign_id: str, fingerprint: str, now_ms: int
    ) -> Mapping[str, Any] | None:
        key = _key(campaign_id, fingerprint)
        found = self._entries.get(key)
        if found is not None and found[0] > now_ms:
            return found[1]
        self._put(key, now_ms + CLAIM_MS, PENDING)
        return None

    def remember(
        self,
        campaign_id: str,
        fingerprint: str,
        answer: Mapping[str, Any],
        now_ms: int,
        ttl_ms: int,
    ) -> None:
        self._put(_key(campaign_id, fingerprint), now_ms + ttl_ms, dict(answer))

    async def stop(self) -> None:
        return None

    def _put(self, key: str, until: int, answer: Mapping[str, Any]) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (until, answer)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


# KEYS[1]: the fingerprint's key. ARGV[1]: the claim's lifetime (ms). The stored answer,
# '' while the first ping is auctioned, or false when this call claimed the key.
_CLAIM = """
local found = redis.call('GET', KEYS[1])
if found then return found end
redis.call('SET', KEYS[1], '', 'PX', ARGV[1])
return false
"""


class RedisPingRepeats:
    """The cache in Redis, shared by every worker of every host."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._pending: set[asyncio.Task[None]] = set()
        self._logged_at = -_LOG_EVERY_SECONDS

    async def claim(
        self, campaign_id: str, fingerprint: str, now_ms: int
    ) -> Mapping[str, Any] | None:
        try:
            found = await self._claim(keys=[_key(campaign_id, fingerprint)], args=[CLAIM_MS])
        except (RedisError, OSError) as error:
            self._log(error)
            return None
        if found is None:
            return None
        if found in ("", b""):
            return PENDING
        answer: Mapping[str, Any] = orjson.loads(found)
        return answer

    def remember(
        self,
        campaign_id: str,
        fingerprint: str,
        answer: Mapping[str, Any],
        now_ms: int,
        ttl_ms: int,
    ) -> None:
        data = orjson.dumps(answer)
        task = asyncio.create_task(self._set(_key(campaign_id, fingerprint), data, ttl_ms))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)

    async def _set(self, key: str, data: bytes, ttl_ms: int) -> None:
        try:
            await self._redis.set(key, data, px=max(ttl_ms, 1))
        except (RedisError, OSError) as error:
            self._log(error)

    def _log(self, error: Exception) -> None:
        if time.monotonic() - self._logged_at >= _LOG_EVERY_SECONDS:
            self._logged_at = time.monotonic()
            log.warning("ping dedup: Redis failed, pings auctioned as first: %r", error)


def _key(campaign_id: str, fingerprint: str) -> str:
    return f"pt:pd:{{{campaign_id}}}:{fingerprint}"


def create_ping_repeats(redis: Redis | None) -> PingRepeats:
    """The shared cache in Redis when there is one, else this process's."""
    return RedisPingRepeats(redis) if redis is not None else LocalPingRepeats()
