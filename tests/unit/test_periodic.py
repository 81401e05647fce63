"""Background loops stop between two actions, never inside one (an action cut off inside a
transaction can leave SQLite's write lock held)."""

from __future__ import annotations

import asyncio

from pingtree.store.periodic import Periodic


async def test_stop_lets_the_action_in_progress_finish() -> None:
    began = asyncio.Event()
    finished: list[bool] = []

    async def slow_action() -> None:
        began.set()
        await asyncio.sleep(0.2)  # as if inside a transaction
        finished.append(True)

    periodic = Periodic("test", 0.01, slow_action, "failed")
    periodic.start()
    await began.wait()
    await periodic.stop()

    assert finished == [True]


async def test_stop_between_actions_returns_at_once() -> None:
    calls: list[int] = []

    async def action() -> None:
        calls.append(1)

    periodic = Periodic("test", 60, action, "failed")
    periodic.start()
    await asyncio.sleep(0)
    await asyncio.wait_for(periodic.stop(), timeout=1)

    assert calls == []
