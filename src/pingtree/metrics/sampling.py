"""The gauges read off the running process and the database, not counted on the way.

- The background writers' backlogs and set-aside rows, and the database pool's connections,
  are this process's state: read at scrape time, and with several workers also every
  :data:`SAMPLE_SECONDS` by each worker (the one scraped cannot read the others' memory;
  their last readings are in the shared files).
- The outbox's depth and age, and the rows set aside, are the database's: read by the
  scraped worker only, with bounded queries (:mod:`pingtree.store.readings`), never per
  request. A scrape waits
  for it a moment only; a slow reading is never cancelled (cut off inside a transaction,
  it could keep SQLite's write lock) but finishes on its own, one at a time.
- Pool waits are timed where the pool hands out a connection (:func:`time_pool_checkouts`),
  and on SQLite where its line of transactions starts each (:func:`watch_sqlite_line`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import Pool, QueuePool

from pingtree.metrics.definitions import Metrics
from pingtree.store.db import is_sqlite
from pingtree.store.periodic import Periodic
from pingtree.store.readings import COUNTED_STATUSES, outbox_depth, set_aside_rows
from pingtree.store.transaction_line import LineWatch, line_of

__all__ = [
    "SAMPLE_SECONDS",
    "Sampler",
    "Sources",
    "Writer",
    "time_pool_checkouts",
    "watch_sqlite_line",
]

log = logging.getLogger(__name__)

#: how often each worker writes its own gauges to the shared files (multiprocess mode)
SAMPLE_SECONDS = 2.0
#: how long a scrape waits for the database reading: past it the last one is shown
_READING_WAIT_SECONDS = 2.0


class Writer(Protocol):
    """A background writer as the metrics read it (:class:`~pingtree.store.batch_writer.
    BatchWriter` and the writers built on it)."""

    @property
    def backlog(self) -> int: ...

    @property
    def set_aside_count(self) -> int: ...

    @property
    def lost_count(self) -> int: ...


@dataclass(frozen=True)
class Sources:
    """Where the sampled values come from."""

    sessions: async_sessionmaker[AsyncSession]
    now: Callable[[], dt.datetime]
    engine: AsyncEngine
    #: the background writers by the name their metrics carry
    writers: Mapping[str, Writer]


class Sampler:
    def __init__(self, metrics: Metrics, sources: Sources) -> None:
        self._metrics = metrics
        self._sources = sources
        #: each writer's set-aside and lost counts when last read (the metrics are counters)
        self._seen = {name: (0, 0) for name in sources.writers}
        self._periodic: Periodic | None = None
        #: the database reading in progress, if any
        self._reading: asyncio.Task[None] | None = None

    def start(self) -> None:
        """With several workers, write this process's gauges every few seconds."""
        if self._metrics.multiprocess:
            self._periodic = Periodic(
                "metrics-sampler",
                SAMPLE_SECONDS,
                self._sample_async,
                "could not sample the process's metrics",
            )
            self._periodic.start()

    async def stop(self) -> None:
        if self._periodic is not None:
            await self._periodic.stop()
            self._periodic = None
        if self._reading is not None:
            await self._reading  # never cut off (see above); it logs its own failure
            self._reading = None

    async def scrape(self) -> None:
        """Bring every sampled value up to date before an exposition."""
        self.sample_process()
        await self.sample_database()

    def sample_process(self) -> None:
        """Read the writers and the pool of this process into their gauges."""
        metrics = self._metrics
        for name, writer in self._sources.writers.items():
            metrics.writer_backlog(name).set(writer.backlog)
            set_aside, lost = writer.set_aside_count, writer.lost_count
            seen_set_aside, seen_lost = self._seen[name]
            if set_aside > seen_set_aside:
                metrics.writer_set_aside(name).inc(set_aside - seen_set_aside)
            if lost > seen_lost:
                metrics.writer_lost(name).inc(lost - seen_lost)
            self._seen[name] = (set_aside, lost)
        pool = self._sources.engine.pool
        if isinstance(pool, QueuePool):
            metrics.pool_connections("checked_out").set(pool.checkedout())
            # negative while the pool has not yet opened its own size of connections
            metrics.pool_connections("overflow").set(max(pool.overflow(), 0))
            metrics.pool_connections("size").set(pool.size())

    async def sample_database(self) -> None:
        """Read the outbox's depth and age and the set-aside rows, waiting
        :data:`_READING_WAIT_SECONDS` at most: a scrape must answer even when the database
        does not (the last reading stays)."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_database(), name="metrics-reading")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reading), _READING_WAIT_SECONDS)

    async def _read_database(self) -> None:
        try:
            async with self._sources.sessions() as session:
                depth = await outbox_depth(session)
                set_aside = await set_aside_rows(session)
        except Exception:
            log.warning(
                "could not read the outbox and set-aside rows for the metrics", exc_info=True
            )
            return
        for writer in self._sources.writers:
            self._metrics.set_aside_rows(writer).set(set_aside.get(writer, 0))
        for status in COUNTED_STATUSES:
            self._metrics.outbox_rows(status).set(depth.rows.get(status, 0))
        age = 0.0
        if depth.oldest_open is not None:
            age = max((self._sources.now() - depth.oldest_open).total_seconds(), 0.0)
        self._metrics.outbox_oldest_age.set(age)

    async def _sample_async(self) -> None:
        self.sample_process()


def time_pool_checkouts(pool: Pool, metrics: Metrics) -> None:
    """Observe how long each checkout from ``pool`` takes, and count those that time out.

    SQLAlchemy has no event before a checkout, only after, so the pool's own getter
    (``_do_get``: a free connection, a new one, or the wait for one) is wrapped on this
    instance; every SQLAlchemy pool has one.
    """
    inner: Callable[[], Any] = pool._do_get
    observe = metrics.pool_wait.observe
    timeouts = metrics.pool_timeouts

    def timed_get() -> Any:
        started = time.perf_counter()
        try:
            return inner()
        except PoolTimeout:
            timeouts.inc()
            raise
        finally:
            observe(time.perf_counter() - started)

    pool._do_get = timed_get  # type: ignore[method-assign]


def watch_sqlite_line(engine: AsyncEngine, metrics: Metrics) -> None:
    """On SQLite, observe each transaction's wait in its line and each group commit's size:
    the line holds the pool's one connection for all the transactions waiting, so the
    pool's own checkouts do not show their wait."""
    if is_sqlite(engine):
        line_of(engine).watch(LineWatch(metrics.line_wait.observe, metrics.line_group.observe))
