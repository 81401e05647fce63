"""The configuration held in memory as a compiled snapshot (DESIGN §4, §8.4).

A ping reads one :class:`Snapshot` from start to end and never queries the database per
order. A worker checks ``config_version`` every ``poll_seconds`` and, when it moved, loads
the configuration, compiles it off the event loop and swaps one reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.compile import CompiledConfig, compile_config
from pingtree.config.schema import ConfigDocument
from pingtree.domain.model import Order
from pingtree.store.config_repo import ConfigRepository

__all__ = ["Snapshot", "SnapshotHolder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    version: int
    config: CompiledConfig
    #: orders of a vertical by test mode: (vertical id, test) → orders
    orders_by_vertical: Mapping[tuple[str, bool], tuple[Order, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, version: int, config: CompiledConfig) -> Snapshot:
        index: dict[tuple[str, bool], list[Order]] = defaultdict(list)
        for order in config.orders.values():
            index[(order.vertical_id, order.test_mode)].append(order)
        return cls(
            version=version,
            config=config,
            orders_by_vertical={key: tuple(orders) for key, orders in index.items()},
        )

    def candidate_orders(self, vertical_id: str, test: bool) -> tuple[Order, ...]:
        return self.orders_by_vertical.get((vertical_id, test), ())


def _compile(version: int, doc: ConfigDocument) -> Snapshot:
    return Snapshot.build(version, compile_config(doc))


class SnapshotHolder:
    """Holds the current snapshot; ``refresh`` reloads it when the stored version moved."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], poll_seconds: float = 1.0):
        self._sessions = sessions
        self._poll_seconds = poll_seconds
        self._current: Snapshot | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def current(self) -> Snapshot:
        if self._current is None:
            raise RuntimeError("the configuration snapshot was not loaded yet")
        return self._current

    async def refresh(self, force: bool = False) -> Snapshot:
        async with self._lock:
            async with self._sessions() as session:
                repo = ConfigRepository(session)
                version = await repo.version()
                if not force and self._current is not None and self._current.version == version:
                    return self._current
                doc = await repo.load_document()
            # compiling (regexes, filters, schedules) is CPU work: keep it off the event loop
            self._current = await asyncio.to_thread(_compile, version, doc)
            log.info("configuration snapshot version %d loaded", version)
            return self._current

    async def start(self) -> None:
        await self.refresh(force=True)
        self._task = asyncio.create_task(self._poll(), name="config-poll")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.refresh()
            except Exception:
                # a bad stored configuration must not kill the worker: keep the last good one
                log.exception("configuration refresh failed; keeping version %s", self._version())

    def _version(self) -> int | None:
        return self._current.version if self._current else None
