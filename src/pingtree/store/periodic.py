"""A background refresh: call an action every few seconds, keep going when it fails.

Stopping never cancels an action midway: one cut off inside a transaction can leave its
connection holding SQLite's write lock, and every later writer waiting on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Periodic"]

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self, name: str, seconds: float, action: Callable[[], Awaitable[object]], failure: str
    ) -> None:
        self._name = name
        self._seconds = seconds
        self._action = action
        #: logged with the traceback when the action fails; the last good state stays
        self._failure = failure
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        """Return once the loop ended, after the action in progress, if any, finished."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._seconds)
            if self._stopping.is_set():
                return
            try:
                await self._action()
            except Exception:
                log.exception(self._failure)
