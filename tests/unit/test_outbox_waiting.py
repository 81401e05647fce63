"""A seller waiting for its lead's delivery, and a server that stops meanwhile."""

from __future__ import annotations

import asyncio

from pingtree.flows.deliver import Outbox


async def test_a_stopping_server_answers_waiting_sellers_pending_at_once() -> None:
    outbox = Outbox(None)
    answer = outbox.expect("lead-1")
    waiting = asyncio.create_task(outbox.wait("lead-1", answer, timeout=30))
    await asyncio.sleep(0)
    outbox.answer_waiting()
    assert await asyncio.wait_for(waiting, 1) == {"status": "pending", "lead_id": "lead-1"}
    # and a seller arriving later is not kept waiting either
    later = outbox.expect("lead-2")
    assert await asyncio.wait_for(outbox.wait("lead-2", later, timeout=30), 1) == {
        "status": "pending",
        "lead_id": "lead-2",
    }


async def test_a_waiting_seller_gets_pending_past_the_post_deadline() -> None:
    outbox = Outbox(None)
    answer = outbox.expect("lead-1")
    assert await outbox.wait("lead-1", answer, timeout=0.01) == {
        "status": "pending",
        "lead_id": "lead-1",
    }
