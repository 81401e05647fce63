"""Wiring: build the ports once at start-up from the settings, and take them down again."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from pingtree.clock import Clock, SystemClock
from pingtree.delivery.client import create_client
from pingtree.delivery.fanout import HttpBids
from pingtree.flows.ports import BidSource, Ports
from pingtree.settings import Settings
from pingtree.store.attempt_log import BatchedAttemptLog
from pingtree.store.cap_room import CapRoom
from pingtree.store.caps import create_cap_ledger, create_redis
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.secrets import ApiKeyRepository, PiiVault, load_server_key
from pingtree.store.snapshot import SnapshotHolder

__all__ = ["Runtime", "create_api_key", "env_secret", "start_runtime"]

_SECRET_ENV_PREFIX = "PINGTREE_SECRET_"
_NOT_ALPHANUMERIC = re.compile(r"[^A-Z0-9]")


@dataclass
class Runtime:
    settings: Settings
    ports: Ports
    engine: AsyncEngine
    redis: Redis | None
    server_key: bytes
    live_bids: HttpBids
    attempts: BatchedAttemptLog

    async def close(self) -> None:
        await self.live_bids.close()
        await self.ports.http.close()
        await self.attempts.stop()
        await self.ports.cap_room.stop()
        await self.ports.snapshots.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


async def start_runtime(
    settings: Settings, clock: Clock | None = None, bids: BidSource | None = None
) -> Runtime:
    clock = clock or SystemClock()
    url = settings.resolved_database_url()
    if settings.migrate_on_start:
        await migrate(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    server_key = load_server_key(settings.secret_key, settings.data_dir)
    snapshots = SnapshotHolder(sessions, settings.config_poll_seconds)
    await snapshots.start()
    ledger = create_cap_ledger(sessions, redis)
    cap_room = CapRoom(ledger, snapshots.current, clock.now, settings.cap_room_refresh_seconds)
    await cap_room.start()
    client = create_client(allow=settings.outbound_allow)
    attempts = BatchedAttemptLog(sessions)
    attempts.start()
    live_bids = HttpBids(
        client, lambda: snapshots.current().config.deliveries, env_secret, attempts
    )
    ports = Ports(
        sessions=sessions,
        snapshots=snapshots,
        caps=ledger,
        cap_room=cap_room,
        clock=clock,
        vault=PiiVault(server_key),
        bids=bids or live_bids,
        http=client,
        resolve_secret=env_secret,
    )
    return Runtime(settings, ports, engine, redis, server_key, live_bids, attempts)


def env_secret(name: str) -> str:
    """A buyer credential (``{secret: NAME}`` in a delivery spec) from the environment.

    Stand-in until buyer credentials are stored encrypted (DESIGN §8.5): ``NAME`` is read
    from ``PINGTREE_SECRET_<NAME>``, upper-cased with every character other than A-Z and
    0-9 turned into ``_`` (``shield-token`` → ``PINGTREE_SECRET_SHIELD_TOKEN``). Raises
    ``KeyError`` when it is not set, and for the name ``key``: ``PINGTREE_SECRET_KEY`` is
    the server's own key and must never be sent to a buyer. A request needing a missing
    secret is not sent (its outcome is an error naming the secret).
    """
    variable = _SECRET_ENV_PREFIX + _NOT_ALPHANUMERIC.sub("_", name.upper())
    if variable == "PINGTREE_SECRET_KEY":
        raise KeyError(f"secret {name} is reserved: {variable} is the server's key")
    value = os.environ.get(variable)
    if value is None:
        raise KeyError(f"secret {name} is not set (environment variable {variable})")
    return value


async def create_api_key(
    settings: Settings, role: str, campaign_id: str | None, label: str = ""
) -> str:
    """A new campaign key or admin token, written straight to the database; the full key,
    which is shown this once (only its HMAC is kept)."""
    url = settings.resolved_database_url()
    await migrate(url)
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            return await ApiKeyRepository(session).create(
                role,
                campaign_id,
                label,
                load_server_key(settings.secret_key, settings.data_dir),
                dt.datetime.now(dt.UTC),
            )
    finally:
        await engine.dispose()
