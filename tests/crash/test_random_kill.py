"""SIGKILL at a random moment while twenty leads are being posted at once to a slow buyer,
then a restart and every seller's retry: each lead is sold exactly once (issue 11).

No failpoint: the kill lands wherever the sales happen to be (in a transaction, between
commit and answer, in the middle of a post). The buyer dedupes on the Idempotency-Key
(``on_unknown: retry``), so a post cut off mid-flight is re-sent, with the same key.
"""

from __future__ import annotations

import functools
import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.crash.harness import (
    CAMPAIGNS,
    SLOW,
    SellerCall,
    Site,
    buyer_endpoints,
    crash_marketplace,
    until,
)
from tests.support.buyers import running_buyers

SELLERS = 20


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with running_buyers(buyer_endpoints()) as mock:
        one = Site(tmp_path, mock, crash_marketplace(mock, [SLOW], timeout_ms=2000))
        yield one
        one.close()


def test_a_kill_at_a_random_moment_loses_no_lead_and_sells_none_twice(site: Site):
    site.start()
    before = site.lead_ids()
    calls = [
        site.new_call(SLOW, CAMPAIGNS[(i // 2) % 2], "ping_post" if i % 2 == 0 else "direct")
        for i in range(SELLERS)
    ]
    for call in calls:  # each ping is stored (its row is written in the background)
        if call.ping_id is not None:
            site.ping_row(call.ping_id)
    delay = random.uniform(0.02, 0.5)
    firsts = _all_at_once(site, calls, kill_after=delay)
    unanswered = sum(first is None for first in firsts)
    note = f"(killed {delay:.2f} s into the posts, {unanswered} of {SELLERS} unanswered)"

    site.start()
    retries = _all_at_once(site, calls)
    lead_ids = []
    for call, first, retry in zip(calls, firsts, retries, strict=True):
        assert retry is not None, f"the restarted server did not answer {note}"
        if first is not None:
            assert retry == first, f"a repeated post must get the first answer {note}"
        # with wait_for_delivery, ``pending`` while the post runs (the outcome at GET)
        expected = {"sold", "pending"} if call.campaign == "wait" else {"accepted"}
        assert retry["status"] in expected, f"{retry} {note}"
        lead_ids.append(str(retry["lead_id"]))
    assert len(set(lead_ids)) == SELLERS, f"two sellers answered with one lead {note}"
    assert site.lead_ids() - before == set(lead_ids), f"a lead nobody was told of {note}"

    for call, lead_id in zip(calls, lead_ids, strict=True):
        final = until(
            functools.partial(_final, site, call.campaign, lead_id),
            f"lead {lead_id}'s final outcome {note}",
        )
        assert final["status"] == "sold", f"{final} {note}"
        _sold_once(site, call, lead_id, note)
    committed = site.committed_use()
    used = {order_id: committed.get(order_id, 0) for order_id in SLOW.orders}
    sold = site.sales("sold")
    assert used == {order_id: sold[order_id] for order_id in SLOW.orders}, note
    assert sum(used.values()) == SELLERS, note


def _all_at_once(
    site: Site, calls: list[SellerCall], kill_after: float | None = None
) -> list[dict[str, Any] | None]:
    """Every call sent at once, each on its own connection; the server SIGKILLed
    ``kill_after`` seconds in, if given. The answers (``None``: cut off by the kill)."""
    clients = [httpx.Client(timeout=30) for _ in calls]
    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            sent = [
                pool.submit(site.send, call, client)
                for call, client in zip(calls, clients, strict=True)
            ]
            if kill_after is not None:
                time.sleep(kill_after)  # not an assertion: the moment of the crash
                site.kill()
            return [future.result() for future in sent]
    finally:
        for client in clients:
            client.close()


def _final(site: Site, campaign_id: str, lead_id: str) -> dict[str, Any] | None:
    outcome = site.outcome(campaign_id, lead_id)
    return outcome if outcome["status"] not in ("pending", "accepted") else None


def _sold_once(site: Site, call: SellerCall, lead_id: str, note: str) -> None:
    lead = site.lead(lead_id)
    statuses = Counter(sale["status"] for sale in lead["sales"])
    assert statuses["sold"] == 1, f"lead {lead_id} sold {statuses['sold']} times {note}"
    if call.ping_id is not None:
        assert site.ping_row(call.ping_id)["lead_id"] == lead_id, note
    sales = {sale["id"] for sale in lead["sales"]}
    posts = site.posts_for(call.phone)
    assert posts, f"lead {lead_id} sold but never posted {note}"
    # re-sent (a post cut off mid-flight) only with its sale's Idempotency-Key
    assert {key for _, key in posts} <= sales, f"a post with a key of no sale: {posts} {note}"
