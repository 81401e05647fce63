"""Runtime settings, from flags or ``PINGTREE_*`` environment variables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pingtree.domain.throttle import SignInPolicy

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGTREE_", extra="ignore")

    #: where the embedded database, the generated server key and other files live
    data_dir: Path = Path("data")
    #: ``sqlite+aiosqlite:///…`` (default: a file under ``data_dir``) or ``postgresql+asyncpg://…``
    database_url: str | None = None
    #: shared cap counters and holds for many workers; the database alone when unset
    redis_url: str | None = None
    #: 32+ bytes (urlsafe base64 or text); generated under ``data_dir`` when unset
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    #: connections to PostgreSQL that all of this server's workers together may hold: each
    #: worker's pool is sized to its share (``database_connections // workers``) unless
    #: ``database_pool_size`` / ``database_max_overflow`` say otherwise. PostgreSQL's
    #: default ``max_connections`` is 100; 80 leaves room for migrations, the CLI and psql
    database_connections: int = Field(default=80, gt=0)
    #: connections a worker keeps open once opened (default: its share, at most 30)
    database_pool_size: int | None = Field(default=None, gt=0)
    #: connections a worker may open beyond its pool under load, each closed again when
    #: it is given back (default: none, or the rest of its share under a set pool size)
    database_max_overflow: int | None = Field(default=None, ge=0)
    #: how long a request waits for a free connection before it is answered 503 with
    #: ``Retry-After`` (nothing done, nothing acknowledged)
    database_pool_timeout: float = Field(default=5.0, gt=0)
    #: the longest a request waits on a background writer (a post for its ping's row);
    #: past it the answer is 503 with ``Retry-After``
    writer_wait_seconds: float = Field(default=5.0, gt=0)
    #: rows queued for the pings' writer and the delivery log past which the seller API
    #: answers 503 with ``Retry-After`` until they are written (DESIGN §9: never dropped)
    ping_writer_high_water: int = Field(default=10_000, gt=0)
    attempt_log_high_water: int = Field(default=20_000, gt=0)
    #: how often a worker checks for a new configuration version
    config_poll_seconds: float = Field(default=1.0, gt=0)
    #: how often the per-order cap room is refreshed for the ping hot path
    cap_room_refresh_seconds: float = Field(default=1.0, gt=0)
    #: how often buyers' and suppliers' return rates are counted for their return rules
    return_rates_refresh_seconds: float = Field(default=30.0, gt=0)
    #: buyer addresses that may be called although not public (loopback, private ranges):
    #: addresses or networks, e.g. ``["127.0.0.1"]`` for a local mock buyer (DESIGN §8.6);
    #: in the environment, a JSON list
    outbound_allow: list[str] = Field(default_factory=list)
    #: connections to buyers open at most, in all and to one host (scheme, host, port);
    #: past them a request waits for a free one inside its own timeout. Busy at once: pings/s
    #: × buyers asked × their latency (200/s × 10 × 50 ms = 100); raise the per-host bound
    #: when many buyers share one host (a lead platform's, a mock buyer's)
    outbound_connections: int = Field(default=512, gt=0)
    outbound_connections_per_host: int = Field(default=128, gt=0)
    #: how long a new outbox row stays with the worker that sold it, and a post's row with
    #: its worker beyond the post's own timeout; a worker that dies leaves its rows to
    #: another after this (a row it was posting, as unknown: §8.6)
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    #: the first retry's delay after a post that reached nobody (doubled each try)
    outbox_backoff_seconds: float = Field(default=0.5, gt=0)
    #: how often a worker looks for outbox rows nobody holds
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    #: erase the PII of leads created more than this many days ago (``flows.erase``: the
    #: money stays), checked every ``pii_retention_check_seconds``; 0: PII is kept
    pii_retention_days: int = Field(default=0, ge=0)
    pii_retention_check_seconds: float = Field(default=3600.0, gt=0)
    #: a bearer token that may read ``/metrics`` and nothing else (for Prometheus); admin
    #: API tokens may read it too. Unset: admin tokens only
    metrics_token: str | None = None
    #: the sign-in throttle (``domain.throttle``): failures of one account, and from one
    #: address, allowed before each further one doubles the wait from the first; that many
    #: failures of one account within the window lock it. Counted in the database, so they
    #: hold across workers and hosts
    sign_in_free_failures: int = Field(default=3, ge=1)
    sign_in_address_free_failures: int = Field(default=10, ge=1)
    sign_in_backoff_seconds: float = Field(default=1.0, gt=0, le=3600)
    sign_in_backoff_max_seconds: float = Field(default=900.0, gt=0, le=86_400)
    sign_in_lock_failures: int = Field(default=10, ge=1)
    sign_in_window_seconds: float = Field(default=900.0, gt=0, le=86_400)
    sign_in_lock_seconds: float = Field(default=900.0, gt=0, le=86_400)
    #: how long the record of sign-ins is kept (checked hourly), in days
    sign_in_keep_days: int = Field(default=90, ge=1)
    #: run the migrations when the server starts (convenient for the embedded database)
    migrate_on_start: bool = True

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pingtree.db').resolve()}"

    def pool_sizes(self) -> tuple[int, int]:
        """One worker's PostgreSQL pool: (pool size, overflow). Unless set, the worker
        keeps its share of ``database_connections`` (at least 2), at most 30, and opens
        none beyond it; with a pool size set, the rest of its share is overflow. So
        ``workers × (pool + overflow) ≤ database_connections``.

        A pool opens a connection only when every open one is busy. One opened beyond the
        pool size is closed when given back, so a load above the pool size opens and closes
        connections all along, each a new PostgreSQL backend and its start-up (measured
        with 10 kept and 20 overflow, 16 sellers in flight: 647 connections opened in 24 s,
        a sixth of the CPU per sale; 40 with 30 kept)."""
        share = max(2, self.database_connections // max(1, self.workers))
        if self.database_pool_size is None:
            size, rest = min(_MOST_KEPT, share), 0
        else:
            size, rest = self.database_pool_size, max(0, share - self.database_pool_size)
        overflow = rest if self.database_max_overflow is None else self.database_max_overflow
        return size, overflow

    def sign_in_policy(self) -> SignInPolicy:
        return SignInPolicy(
            free_failures=self.sign_in_free_failures,
            address_free_failures=self.sign_in_address_free_failures,
            backoff=dt.timedelta(seconds=self.sign_in_backoff_seconds),
            backoff_max=dt.timedelta(seconds=self.sign_in_backoff_max_seconds),
            lock_failures=self.sign_in_lock_failures,
            window=dt.timedelta(seconds=self.sign_in_window_seconds),
            lock=dt.timedelta(seconds=self.sign_in_lock_seconds),
        )


#: connections a worker keeps open at most by default (a process of one event loop gains
#: nothing from more: they wait on the same loop)
_MOST_KEPT = 30
