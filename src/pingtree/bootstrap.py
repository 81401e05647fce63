"""Wiring: build the ports once at start-up from the settings, and take them down again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from pingtree.clock import Clock, SystemClock
from pingtree.delivery.client import create_client
from pingtree.delivery.fanout import HttpBids
from pingtree.delivery.notices import NoticeSender
from pingtree.flows.deliver import Outbox
from pingtree.flows.erase import erase_older_than, ports_eraser
from pingtree.flows.ports import BidSource, Ports
from pingtree.flows.postback import PostbackQueue
from pingtree.flows.sign_in import forget_old_sign_ins
from pingtree.metrics import (
    MeteredAttemptLog,
    Metrics,
    Sampler,
    Sources,
    process_metrics,
    time_pool_checkouts,
    watch_sqlite_line,
)
from pingtree.settings import Settings
from pingtree.store.attempt_log import BatchedAttemptLog
from pingtree.store.buyer_secrets import BuyerSecrets
from pingtree.store.cap_room import CapRoom
from pingtree.store.caps import create_cap_ledger, create_redis
from pingtree.store.config_notices import ConfigNotices, no_one_to_tell
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.periodic import Periodic
from pingtree.store.ping_repeats import create_ping_repeats
from pingtree.store.ping_writer import PingWriter
from pingtree.store.rate_limits import create_rate_limits
from pingtree.store.return_rates import ReturnStanding
from pingtree.store.secrets import ApiKeyRepository, PiiVault, load_server_key
from pingtree.store.snapshot import SnapshotHolder
from pingtree.store.transactions import Transactions

__all__ = ["Runtime", "create_api_key", "start_runtime"]


@dataclass
class Runtime:
    settings: Settings
    ports: Ports
    engine: AsyncEngine
    redis: Redis | None
    server_key: bytes
    live_bids: HttpBids
    attempts: BatchedAttemptLog
    secrets: BuyerSecrets
    outbox: Outbox
    metrics: Metrics
    sampler: Sampler
    #: what is kept for a while only: old leads' PII (``pii_retention_days``), the record
    #: of sign-ins (``sign_in_keep_days``)
    sweeps: tuple[Periodic, ...] = ()
    #: the campaigns' conversion postbacks
    postbacks: PostbackQueue | None = None
    #: the configuration change notices between hosts (with Redis only)
    notices: ConfigNotices | None = None

    async def close(self) -> None:
        if self.notices is not None:
            await self.notices.stop()
        for sweep in self.sweeps:
            await sweep.stop()
        await self.sampler.stop()
        if self.postbacks is not None:
            await self.postbacks.stop()
        await self.outbox.stop()
        await self.ports.rate_limits.stop()
        await self.ports.ping_repeats.stop()
        await self.ports.pings.stop()
        if self.ports.notices is not None:
            await self.ports.notices.stop()
        await self.live_bids.close()
        await self.ports.http.close()
        await self.attempts.stop()
        await self.secrets.stop()
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
    pool_size, max_overflow = settings.pool_sizes()
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=settings.database_pool_timeout,
    )
    metrics = process_metrics()
    time_pool_checkouts(engine.pool, metrics)
    watch_sqlite_line(engine, metrics)
    sessions = session_factory(engine)
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    server_key = load_server_key(settings.secret_key, settings.data_dir)
    snapshots = SnapshotHolder(sessions, settings.config_poll_seconds)
    await snapshots.start()
    # a change written on another host is loaded at its notice, not at the next poll
    notices = ConfigNotices(redis, snapshots.refresh) if redis is not None else None
    if notices is not None:
        notices.start()
    ledger = create_cap_ledger(sessions, redis)
    standing = ReturnStanding(
        sessions, snapshots.current, clock.now, settings.return_rates_refresh_seconds
    )
    cap_room = CapRoom(
        ledger, snapshots.current, clock.now, settings.cap_room_refresh_seconds, standing
    )
    await cap_room.start()
    client = create_client(
        settings.outbound_connections,
        settings.outbound_connections_per_host,
        allow=settings.outbound_allow,
    )
    transactions = Transactions(sessions)
    attempts = BatchedAttemptLog(transactions, high_water=settings.attempt_log_high_water)
    attempts.start()
    # what buyers are sent goes through the metrics on its way to the delivery log
    metered = MeteredAttemptLog(attempts, metrics)
    vault = PiiVault(server_key)
    secrets = BuyerSecrets(sessions, vault, settings.config_poll_seconds)
    await secrets.start()
    live_bids = HttpBids(client, secrets.resolve, metered)
    outbox = Outbox(
        metered,
        lease_margin=dt.timedelta(seconds=settings.outbox_lease_seconds),
        backoff=dt.timedelta(seconds=settings.outbox_backoff_seconds),
        poll_seconds=settings.outbox_poll_seconds,
    )
    postbacks = PostbackQueue(
        backoff=dt.timedelta(seconds=settings.outbox_backoff_seconds),
        lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
        poll_seconds=settings.outbox_poll_seconds,
    )
    ports = Ports(
        sessions=sessions,
        transactions=transactions,
        snapshots=snapshots,
        caps=ledger,
        cap_room=cap_room,
        clock=clock,
        vault=vault,
        bids=bids or live_bids,
        http=client,
        resolve_secret=secrets.resolve,
        outbox=outbox,
        pings=PingWriter(
            transactions,
            high_water=settings.ping_writer_high_water,
            wait_seconds=settings.writer_wait_seconds,
        ),
        sign_in=settings.sign_in_policy(),
        postbacks=postbacks,
        announce_config=notices.announce if notices is not None else no_one_to_tell,
        notices=NoticeSender(client, metered),
        rate_limits=create_rate_limits(redis),
        ping_repeats=create_ping_repeats(redis),
    )
    ports.pings.start()
    outbox.start(ports)
    postbacks.start(ports)
    sampler = Sampler(
        metrics,
        Sources(
            sessions,
            clock.now,
            engine,
            writers={"ping-writer": ports.pings, "attempt-log": attempts},
        ),
    )
    sampler.start()
    sweeps = _sweeps(settings, ports)
    return Runtime(
        settings,
        ports,
        engine,
        redis,
        server_key,
        live_bids,
        attempts,
        secrets,
        outbox,
        metrics,
        sampler,
        sweeps,
        postbacks,
        notices,
    )


def _sweeps(settings: Settings, ports: Ports) -> tuple[Periodic, ...]:
    """The background sweeps of what is kept for a while only, started: the PII retention
    (DESIGN §8.5; when ``pii_retention_days`` is set) and the record of sign-ins."""
    keep_days = settings.sign_in_keep_days
    sweeps = [
        Periodic(
            "sign-in record",
            _HOURLY,
            lambda: forget_old_sign_ins(ports, keep_days),
            "forgetting old sign-ins failed",
        )
    ]
    if settings.pii_retention_days > 0:
        eraser, days = ports_eraser(ports), settings.pii_retention_days
        sweeps.append(
            Periodic(
                "pii retention",
                settings.pii_retention_check_seconds,
                lambda: erase_older_than(eraser, days),
                "erasing old leads' PII failed",
            )
        )
    for sweep in sweeps:
        sweep.start()
    return tuple(sweeps)


#: how often the record of sign-ins is trimmed
_HOURLY = 3600.0


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
