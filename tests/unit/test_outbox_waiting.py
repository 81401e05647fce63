"""A seller waiting for its lead's delivery, a server that stops meanwhile, and rows taken
for a sale that never dispatched them."""

from __future__ import annotations

import asyncio
import time

import pytest

from pingtree.flows.deliver import Outbox
from pingtree.store.tables import Delivery


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


async def test_a_seller_that_gives_up_leaves_the_others_waiting_for_the_answer() -> None:
    outbox = Outbox(None)
    patient, hasty = outbox.expect("lead-1"), outbox.expect("lead-1")
    waiting = asyncio.create_task(outbox.wait("lead-1", patient, timeout=30))
    assert (await outbox.wait("lead-1", hasty, timeout=0.01))["status"] == "pending"
    outbox._sellers.answer("lead-1", {"status": "sold", "lead_id": "lead-1"})
    assert (await asyncio.wait_for(waiting, 1))["status"] == "sold"


def test_a_row_taken_for_a_sale_that_never_dispatched_it_is_sent_by_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outbox = Outbox(None)
    spawned: list[str] = []
    monkeypatch.setattr(outbox, "_spawn", lambda sale_id, own: spawned.append(sale_id))
    row = Delivery(sale_id="sale-1", lead_id="lead-1", order_id="order-1", buyer_id="b", tries=1)
    outbox.hold_taken([row])
    outbox._send_held_leftovers()
    assert spawned == []  # its sale dispatches it, in a moment
    monkeypatch.setattr(time, "monotonic", lambda: time.perf_counter() + 3600)
    outbox._send_held_leftovers()
    assert spawned == ["sale-1"]  # its sale never came (its request was cancelled)
