"""A background refresh: call an action every few seconds, keep going when it fails."""

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

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._seconds)
            try:
                await self._action()
            except Exception:
                log.exception(self._failure)
