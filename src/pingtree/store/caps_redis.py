"""Cap ledger for many workers: holds in Redis, committed usage in the database with a Redis
cache of it (DESIGN §4, §8.3). See :mod:`pingtree.store.caps` for the contract.

Keys, one hash tag per scope (``pt:{order:7}:count:d:2026-11-23:used``):

- ``<counter>:used``  committed usage (integer: a count or cents), a cache of
  ``cap_usage.used``. Rebuilt from the database when missing (``SET NX``), and given a
  lifetime of at most :data:`COUNTER_REFRESH` so that any drift (a worker that died between
  the database commit and :meth:`RedisCapLedger.after_commit`) heals by itself.
- ``<counter>:sales`` the sale ids already added to ``used``: :meth:`after_commit` is
  idempotent per sale id.
- ``<counter>:holds`` a sorted set, member = ping id, score = the hold's expiry (ms); and
  ``<counter>:amt``, a hash ping id → amount with the running total under ``#``. A hold
  counts while its score is later than ``now``; whoever touches the counter next drops the
  expired ones, so nothing needs a sweeper.
- ``pt:{ping:<id>}:holds`` the counters a ping holds, for :meth:`release`.

Each operation is one Lua script, so a reservation's check-then-hold is atomic across all
its counters: all or nothing. The scripts touch several hash tags at once: one Redis
server (or a primary with replicas), not a Redis Cluster.

The database stays the truth: a sale's conditional ``UPDATE`` of ``cap_usage`` in the
caller's transaction is the hard limit, exactly as with :class:`SqlCapLedger`. A rebuild
that races a sale committed just before it may count that sale twice in the cache until
the next refresh: the cache can refuse a reservation it should have granted, never let a
sale pass the limit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.domain.caps import CapCharge
from pingtree.store.caps_sql import (
    Counter,
    CounterKey,
    commit_usage,
    counters_of,
    read_used,
    refund_usage,
)

__all__ = ["COUNTER_REFRESH", "RedisCapLedger", "create_redis"]

log = logging.getLogger(__name__)

#: the longest a cached committed counter lives before it is rebuilt from the database
COUNTER_REFRESH = dt.timedelta(minutes=10)
#: how long a window's keys outlive the window (late posts, clock skew between workers)
_AFTER_WINDOW = dt.timedelta(days=1)
#: the shortest lifetime given to any key
_MIN_TTL = dt.timedelta(minutes=1)
#: sale id → ping id between commit and after_commit; bounded against callers that roll back
_PENDING_MAX = 10_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)

# Shared Lua: drop the expired holds of one counter, keeping the running total right.
_DROP_EXPIRED = """
local function drop_expired(holds, amt, now)
  while true do
    local gone = redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 500)
    if #gone == 0 then return end
    local amounts = redis.call('HMGET', amt, unpack(gone))
    local total = 0
    for _, a in ipairs(amounts) do
      if a then total = total + tonumber(a) end
    end
    redis.call('ZREM', holds, unpack(gone))
    redis.call('HDEL', amt, unpack(gone))
    if total ~= 0 then redis.call('HINCRBY', amt, '#', -total) end
  end
end

local function extend(key, ttl)
  local left = redis.call('PTTL', key)
  if left >= 0 and left < ttl or left == -1 then redis.call('PEXPIRE', key, ttl) end
end
"""

# KEYS: ping index, then per counter: used, holds, amt
# ARGV: now ms, expiry ms, ping id, index ttl ms, then per counter: amount, limit, ttl ms, name
# -> {1} held; {0, i} counter i has no room; {-1, i, j...} counters i, j... need a rebuild
_RESERVE = (
    _DROP_EXPIRED
    + """
local now, expires, ping = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local n = (#KEYS - 1) / 3
local missing = {-1}
for i = 0, n - 1 do
  if redis.call('EXISTS', KEYS[2 + 3 * i]) == 0 then missing[#missing + 1] = i + 1 end
end
if #missing > 1 then return missing end
for i = 0, n - 1 do
  local holds, amt = KEYS[3 + 3 * i], KEYS[4 + 3 * i]
  drop_expired(holds, amt, now)
  local used = tonumber(redis.call('GET', KEYS[2 + 3 * i]))
  local held = tonumber(redis.call('HGET', amt, '#') or '0')
  local own = redis.call('HGET', amt, ping)
  if own then held = held - tonumber(own) end
  if used + held + tonumber(ARGV[5 + 4 * i]) > tonumber(ARGV[6 + 4 * i]) then
    return {0, i + 1}
  end
end
for i = 0, n - 1 do
  local holds, amt = KEYS[3 + 3 * i], KEYS[4 + 3 * i]
  local amount, ttl = tonumber(ARGV[5 + 4 * i]), tonumber(ARGV[7 + 4 * i])
  local own = redis.call('HGET', amt, ping)
  redis.call('ZADD', holds, expires, ping)
  redis.call('HSET', amt, ping, amount)
  redis.call('HINCRBY', amt, '#', amount - tonumber(own or '0'))
  extend(holds, ttl)
  extend(amt, ttl)
  redis.call('SADD', KEYS[1], ARGV[8 + 4 * i])
end
extend(KEYS[1], tonumber(ARGV[4]))
return {1}
"""
)

# KEYS: ping index. ARGV: ping id. Counter keys are derived from the index's members.
_RELEASE = """
local ping = ARGV[1]
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local holds, amt = name .. ':holds', name .. ':amt'
  local own = redis.call('HGET', amt, ping)
  if own then
    redis.call('ZREM', holds, ping)
    redis.call('HDEL', amt, ping)
    redis.call('HINCRBY', amt, '#', -tonumber(own))
  end
end
redis.call('DEL', KEYS[1])
return 1
"""

# KEYS: ping index (or any key when no ping), then per counter: used, sales, holds, amt
# ARGV: sale id, ping id or '', then per counter: amount, name
_AFTER_COMMIT = """
local sale, ping = ARGV[1], ARGV[2]
local n = (#KEYS - 1) / 4
for i = 0, n - 1 do
  local used, sales = KEYS[2 + 4 * i], KEYS[3 + 4 * i]
  local holds, amt = KEYS[4 + 4 * i], KEYS[5 + 4 * i]
  -- a missing counter is rebuilt from the database, which has this sale already
  if redis.call('EXISTS', used) == 1 and redis.call('SADD', sales, sale) == 1 then
    redis.call('INCRBY', used, tonumber(ARGV[3 + 2 * i]))
    local left = redis.call('PTTL', used)
    if left > 0 then redis.call('PEXPIRE', sales, left) end
  end
  if ping ~= '' then
    local own = redis.call('HGET', amt, ping)
    if own then
      redis.call('ZREM', holds, ping)
      redis.call('HDEL', amt, ping)
      redis.call('HINCRBY', amt, '#', -tonumber(own))
    end
    redis.call('SREM', KEYS[1], ARGV[4 + 2 * i])
  end
end
return 1
"""

# KEYS: per counter: used, holds, amt. ARGV: now ms.
# -> per counter: 1 if used is known else 0, used (0 when missing), unexpired held (an
# account's used may be below zero: no sentinel value)
_USAGE = (
    _DROP_EXPIRED
    + """
local now = tonumber(ARGV[1])
local out = {}
for i = 0, #KEYS / 3 - 1 do
  local holds, amt = KEYS[2 + 3 * i], KEYS[3 + 3 * i]
  drop_expired(holds, amt, now)
  local used = redis.call('GET', KEYS[1 + 3 * i])
  out[#out + 1] = used and 1 or 0
  out[#out + 1] = tonumber(used or '0')
  out[#out + 1] = tonumber(redis.call('HGET', amt, '#') or '0')
end
return out
"""
)


def create_redis(url: str, max_connections: int = 64) -> Redis:
    """A client for ``url`` (``redis://host:port/db``) over a blocking pool: at most
    ``max_connections`` connections; a caller waits up to 5 s for one, then gets
    ``redis.exceptions.ConnectionError``. The client owns the pool (``aclose()`` closes it).
    """
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5, decode_responses=True
    )
    return Redis.from_pool(pool)


class RedisCapLedger:
    """Holds in Redis, committed usage in the database and cached in Redis
    (:class:`pingtree.store.caps.CapLedger`).

    ``redis`` should answer strings (``decode_responses=True``, as :func:`create_redis`).
    """

    def __init__(self, redis: Redis, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._redis = redis
        self._sessions = sessions
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)
        self._after_commit = redis.register_script(_AFTER_COMMIT)
        self._usage = redis.register_script(_USAGE)
        self._pending: OrderedDict[str, str] = OrderedDict()

    async def reserve(
        self,
        ping_id: str,
        charges: Sequence[CapCharge],
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> bool:
        counters = counters_of(charges)
        if not counters:
            return True
        keys = [_ping_key(ping_id)]
        args: list[Any] = [_ms(now), _ms(expires_at), ping_id, _ttl_ms(expires_at - now)]
        for c in counters:
            name = _name(c.key)
            keys += [f"{name}:used", f"{name}:holds", f"{name}:amt"]
            args += [c.amount, c.limit, _holds_ttl_ms(c, expires_at, now), name]
        for _ in range(3):
            answer = [int(x) for x in await self._reserve(keys=keys, args=args)]
            if answer[0] != -1:
                return answer[0] == 1
            missing = [counters[i - 1] for i in answer[1:]]
            await self._rebuild({c.key: _used_ttl_ms(c, now) for c in missing})
        log.warning("cap counters for ping %s vanished while being rebuilt; refusing", ping_id)
        return False

    async def release(self, ping_id: str, now: dt.datetime) -> None:
        await self._release(keys=[_ping_key(ping_id)], args=[ping_id])

    async def release_in(self, session: AsyncSession, ping_id: str) -> bool:
        return False  # holds live in Redis, outside the transaction

    async def commit(
        self,
        session: AsyncSession,
        sale_id: str,
        ping_id: str | None,
        charges: Sequence[CapCharge],
        now: dt.datetime,
    ) -> bool:
        if not await commit_usage(session, counters_of(charges)):
            return False
        if ping_id is not None:
            # the ping's holds go in after_commit, with the counter's increment: until the
            # sale is durable they keep counting
            self._pending[sale_id] = ping_id
            while len(self._pending) > _PENDING_MAX:
                self._pending.popitem(last=False)
        return True

    async def after_commit(self, sale_id: str, charges: Sequence[CapCharge]) -> None:
        ping_id = self._pending.pop(sale_id, None)
        counters = counters_of(charges)
        if not counters:
            return
        keys = [_ping_key(ping_id) if ping_id else _ping_key("-")]
        args: list[Any] = [sale_id, ping_id or ""]
        for c in counters:
            name = _name(c.key)
            keys += [f"{name}:used", f"{name}:sales", f"{name}:holds", f"{name}:amt"]
            args += [c.amount, name]
        await self._after_commit(keys=keys, args=args)

    async def refund(self, session: AsyncSession, charges: Sequence[CapCharge]) -> None:
        await refund_usage(session, counters_of(charges))

    async def after_refund(self, charges: Sequence[CapCharge]) -> None:
        # the next reader rebuilds these counters from the database, the truth
        names = [f"{_name(c.key)}:used" for c in counters_of(charges)]
        if names:
            await self._redis.delete(*names)

    async def usage(
        self, scopes_windows: Sequence[CounterKey], now: dt.datetime
    ) -> dict[CounterKey, tuple[int, int]]:
        wanted = list(dict.fromkeys(scopes_windows))
        if not wanted:
            return {}
        keys: list[str] = []
        for key in wanted:
            name = _name(key)
            keys += [f"{name}:used", f"{name}:holds", f"{name}:amt"]
        flat = [int(x) for x in await self._usage(keys=keys, args=[_ms(now)])]
        result = {key: (flat[3 * i + 1], flat[3 * i + 2]) for i, key in enumerate(wanted)}
        missing = [key for i, key in enumerate(wanted) if not flat[3 * i]]
        if missing:
            # the window's end is not known here: the shortest lifetime a counter gets
            rebuilt = await self._rebuild({key: _ttl_ms(COUNTER_REFRESH) for key in missing})
            for key in missing:
                result[key] = (rebuilt[key], result[key][1])
        return result

    async def _rebuild(self, ttl_ms: dict[CounterKey, int]) -> dict[CounterKey, int]:
        """Set the missing committed counters ``ttl_ms`` names from ``cap_usage`` (``SET NX``:
        a counter someone else rebuilt or incremented meanwhile is kept); their database
        values."""
        async with self._sessions() as session:
            used = await read_used(session, list(ttl_ms))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, ttl in ttl_ms.items():
                pipe.set(f"{_name(key)}:used", used.get(key, 0), nx=True, px=ttl)
            await pipe.execute()
        return {key: used.get(key, 0) for key in ttl_ms}


def _name(key: CounterKey) -> str:
    scope, window = key
    return f"pt:{{{scope}}}:{window}"


def _ping_key(ping_id: str) -> str:
    return f"pt:{{ping:{ping_id}}}:holds"


def _ms(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _MS


def _ttl_ms(span: dt.timedelta) -> int:
    return max(span, _MIN_TTL) // _MS


def _used_ttl_ms(counter: Counter, now: dt.datetime) -> int:
    if counter.window_end is None:
        return _ttl_ms(COUNTER_REFRESH)
    return _ttl_ms(min(COUNTER_REFRESH, counter.window_end + _AFTER_WINDOW - now))


def _holds_ttl_ms(counter: Counter, expires_at: dt.datetime, now: dt.datetime) -> int:
    until_expiry = expires_at - now + _MIN_TTL
    if counter.window_end is None:
        return _ttl_ms(until_expiry + _AFTER_WINDOW)
    return _ttl_ms(max(until_expiry, counter.window_end + _AFTER_WINDOW - now))
