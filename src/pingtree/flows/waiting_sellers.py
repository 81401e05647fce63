"""Sellers waiting for their leads' final answers (``wait_for_delivery``, DESIGN §8.6)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["WaitingSellers"]


class WaitingSellers:
    """The sellers of one process waiting for their leads' answers, by lead id."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        #: the server is stopping: sellers are not kept waiting for deliveries
        self._closing = False

    def expect(self, lead_id: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the lead's final answer; before its posts are dispatched."""
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(lead_id, []).append(answer)
        return answer

    async def wait(
        self,
        lead_id: str,
        answer: asyncio.Future[dict[str, Any]],
        timeout: float,  # noqa: ASYNC109 (the campaign's post deadline)
    ) -> dict[str, Any]:
        """The lead's final answer, or ``pending`` with its id past ``timeout`` seconds.

        ``answer`` is this seller's own (:meth:`expect`), so it is awaited as it is: a timeout
        or a cancel ends only this wait. Under ``asyncio.wait_for`` and ``asyncio.shield`` each
        would add a hand-over, a turn of the event loop behind every ready callback, between
        the answer and the seller."""
        try:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        return await answer
            return {"status": "pending", "lead_id": lead_id}
        finally:
            waiting = self._waiting.get(lead_id, [])
            if answer in waiting:
                waiting.remove(answer)
            if not waiting:
                self._waiting.pop(lead_id, None)

    def answer(self, lead_id: str, answer: dict[str, Any]) -> None:
        """The lead's final answer, to every seller waiting for it."""
        for waiting in self._waiting.pop(lead_id, []):
            if not waiting.done():
                waiting.set_result(answer)

    def answer_all_pending(self) -> None:
        """Answer every seller still waiting now, ``pending`` with the lead id (the delivery
        goes on; the final answer comes as always), and every seller from now on: for a
        server about to stop, whose open requests end first."""
        self._closing = True
        for lead_id, waiting in self._waiting.items():
            for answer in waiting:
                if not answer.done():
                    answer.set_result({"status": "pending", "lead_id": lead_id})
