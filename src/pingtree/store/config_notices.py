"""Configuration change notices between hosts, over Redis (DESIGN §4, §8.4).

The process that wrote the configuration loads its new snapshot itself, then publishes a
notice on one Redis channel. Every worker of every host listens and loads the new snapshot
at once, instead of at its next poll of ``config_version``. The poll stays: a notice
published while a worker was disconnected from Redis is found by it within
``config_poll_seconds``.

Without Redis (one process on SQLite) there is no one to tell: :func:`no_one_to_tell`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["CHANNEL", "ConfigNotices", "no_one_to_tell"]

log = logging.getLogger(__name__)

#: the channel every worker of a deployment listens on
CHANNEL = "pingtree:config-changed"
#: how long a listener waits for a message at a time (every wait has a limit)
_LISTEN_SECONDS = 1.0
#: how long a listener that lost Redis waits before it subscribes again
_RECONNECT_SECONDS = 1.0
#: how long a stop waits for the listener past its current wait for a message
_STOP_SECONDS = 2.0


async def no_one_to_tell() -> None:
    """One process, no Redis: nothing to announce (other workers' polls find changes)."""


class ConfigNotices:
    """Announces this process's configuration writes, and refreshes on everyone's."""

    def __init__(self, redis: Redis, refresh: Callable[[], Awaitable[object]]) -> None:
        self._redis = redis
        self._refresh = refresh
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        #: set once subscribed (tests wait for it; a notice before it is found by the poll)
        self.listening = asyncio.Event()

    async def announce(self) -> None:
        """Tell every worker the configuration changed. A failure is logged, not raised:
        the write is committed, and the others' polls find it within a second."""
        try:
            async with asyncio.timeout(2):
                await self._redis.publish(CHANNEL, "changed")
        except (RedisError, OSError, TimeoutError):
            log.warning("could not announce a configuration change; polls will find it")

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="config-notices")

    async def stop(self) -> None:
        """Stop listening now: the listener holds nothing a cancellation could leave
        half-done (a refresh in progress is the holder's, under its own lock).

        The cancel is repeated until the listener ends: one cancel alone was seen lost
        inside redis-py's read of a message (under Python 3.11's ``asyncio.timeout``), the
        task left ``cancelling`` and waiting, and the runtime's close with it. The
        listener also ends by itself within one wait of ``_LISTEN_SECONDS`` once told to
        stop; past that and ``_STOP_SECONDS`` more it is left behind, said in the log."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            async with asyncio.timeout(_LISTEN_SECONDS + _STOP_SECONDS):
                while not task.done():
                    task.cancel()
                    await asyncio.wait({task}, timeout=0.1)
        except TimeoutError:
            log.warning("the configuration notices' listener did not stop; left behind")
            return
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._subscribed()
            except (RedisError, OSError):
                log.warning("configuration notices lost Redis; subscribing again")
            self.listening.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_RECONNECT_SECONDS):
                    await self._stopping.wait()

    async def _subscribed(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            self.listening.set()
            while not self._stopping.is_set():
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=_LISTEN_SECONDS
                )
                if message is None:
                    continue
                try:
                    await self._refresh()
                except Exception:  # a bad stored configuration: the last good one stays
                    log.exception("configuration refresh on a notice failed; keeping the last")
