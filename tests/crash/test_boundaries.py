"""SIGKILL at every boundary of the sale, then a restart and the seller's retry: no lead lost,
none sold twice (DESIGN §9 "One durable step per sale", §8.2, §8.6; issue 11).

Each case arms one failpoint (``pingtree.failpoints``) in a real ``pingtree serve`` (the
one the last case left running), makes one sale reach it, starts the server again on the
same database, lets the seller repeat the
same post, and counts: the leads, their sales, the buyer's posts and the caps.

- ``sale.claimed`` / ``sale.lead`` / ``sale.recorded``: killed inside the post's transaction.
  Nothing of it is left; the retried post makes the lead and sells it.
- ``sale.committed``: the lead, its sale and outbox row are durable but nothing was sent or
  answered. The restarted server delivers it; the retry gets the lead's first answer.
- ``delivery.taken`` / ``delivery.answered``: killed with the post left ``sending`` (before
  it left, or after the buyer took it). With ``on_unknown: hold`` the lead is ``pending``
  until an operator resolves it: "delivered" sells it, "not delivered" offers it to the
  next bidder. With ``on_unknown: retry`` it is re-sent, with the same Idempotency-Key.
- ``delivery.retry_queued``: the buyer answered 503 and the post was queued again; the
  restarted server sends it when due.

Every case then checks: one lead for the post, sold once (to the second bidder when the
operator said "not delivered"), its ping claimed by it, each post the buyers received
carrying the Idempotency-Key of one of its sales (more than once only after a 503 or for a
buyer that dedupes), the cap's committed use equal to the sales that stand, and a repeated
post answered with the first answer. All cases share one database; the last test checks
the caps once everything has settled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pingtree.mockbuyer import MockBuyer
from tests.crash.harness import (
    BUSY,
    FLAKY,
    HOLD,
    LANES,
    RETRY,
    TAKES,
    Lane,
    SellerCall,
    Site,
    buyer_endpoints,
    crash_marketplace,
    until,
)
from tests.support.buyers import running_buyers

#: the points inside the post's transaction: a kill there leaves nothing of the post
UNCOMMITTED = frozenset({"sale.claimed", "sale.lead", "sale.recorded"})


@dataclass(frozen=True)
class Case:
    point: str
    flow: str  # "ping_post" or "direct"
    campaign: str  # "wait" (wait_for_delivery) or "nowait"
    lane: Lane = HOLD
    #: the operator's verdict on the post the crash left of unknown outcome
    resolve: bool | None = None
    #: how many posts each mock endpoint receives for the lead, in all
    posts: dict[str, int] = field(default_factory=lambda: {"first": 1})

    @property
    def id(self) -> str:
        lane = "" if self.lane is HOLD else f"-{self.lane.name}"
        verdict = {None: "", True: "-delivered", False: "-not_delivered"}[self.resolve]
        return f"{self.point}-{self.flow}-{self.campaign}{lane}{verdict}"

    @property
    def sold_to(self) -> tuple[str, str]:
        """The order the lead ends sold to, and its buyer's mock endpoint."""
        if self.resolve is False:
            return self.lane.orders[1], self.lane.second
        return self.lane.orders[0], self.lane.first

    @property
    def retry_statuses(self) -> set[str]:
        """What the retried post may answer: ``accepted`` without ``wait_for_delivery``;
        with it, ``sold``, or ``pending`` (the outcome at ``GET /leads/{id}``) while the
        delivery runs, and surely while an operator must decide."""
        if self.campaign == "nowait":
            return {"accepted"}
        return {"pending"} if self.resolve is not None else {"sold", "pending"}


_NOT_DELIVERED = {"first": 0, "second": 1}
CASES = [
    Case("sale.claimed", "ping_post", "wait"),
    Case("sale.claimed", "direct", "nowait"),
    Case("sale.lead", "ping_post", "nowait"),
    Case("sale.lead", "direct", "wait"),
    Case("sale.recorded", "ping_post", "wait"),
    Case("sale.recorded", "direct", "nowait"),
    Case("sale.committed", "ping_post", "wait"),
    Case("sale.committed", "ping_post", "nowait"),
    Case("sale.committed", "direct", "wait"),
    Case("sale.committed", "direct", "nowait"),
    # the post never left: the operator says so, and the second bidder buys the lead
    Case("delivery.taken", "ping_post", "wait", resolve=False, posts=_NOT_DELIVERED),
    Case("delivery.taken", "ping_post", "nowait", resolve=False, posts=_NOT_DELIVERED),
    Case("delivery.taken", "direct", "wait", resolve=False, posts=_NOT_DELIVERED),
    Case("delivery.taken", "direct", "nowait", resolve=False, posts=_NOT_DELIVERED),
    # the buyer took it: the operator says so, and the sale stands
    Case("delivery.answered", "ping_post", "nowait", resolve=True),
    Case("delivery.answered", "direct", "wait", resolve=True),
    # a buyer that dedupes: re-sent after the restart, with the same Idempotency-Key
    Case("delivery.taken", "ping_post", "wait", lane=RETRY),
    Case("delivery.answered", "direct", "nowait", lane=RETRY, posts={"first": 2}),
    Case("delivery.answered", "ping_post", "wait", lane=RETRY, posts={"first": 2}),
    # a 503 then the crash: the queued post is sent by the next server
    Case("delivery.retry_queued", "ping_post", "nowait", lane=FLAKY, posts={"flaky": 2}),
    Case("delivery.retry_queued", "direct", "wait", lane=FLAKY, posts={"flaky": 2}),
]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(buyer_endpoints()) as running:
        yield running


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory: pytest.TempPathFactory, mock: MockBuyer) -> Iterator[Site]:
    tmp_path: Path = tmp_path_factory.mktemp("crash")
    one = Site(tmp_path, mock, crash_marketplace(mock))
    yield one
    one.close()


@pytest.fixture
def site(shared_site: Site) -> Iterator[Site]:
    yield shared_site
    # a failed case leaves no armed server nor an open sale behind for the next; the server
    # left is the next case's to arm (a case starts one process, its restart)
    shared_site.settle(keep_serving=True)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_a_crash_at_the_boundary_loses_no_lead_and_sells_none_twice(site: Site, case: Case):
    # --- the sale reaches the point and the server dies --------------------------------------
    if case.lane is FLAKY:
        site.set_endpoint("flaky", BUSY)
    site.arm(case.point)
    before = site.lead_ids()
    call = site.new_call(case.lane, case.campaign, case.flow)
    first = site.send(call)
    _died_at_the_point(site, case, first)

    # --- a new server on the same database; the seller posts the same body again ----------
    if case.lane is FLAKY:
        site.set_endpoint("flaky", TAKES)  # the buyer is back
    site.start()
    left = site.lead_ids() - before
    if case.point in UNCOMMITTED:
        assert left == set(), f"a post killed before its commit left leads behind: {left}"
    else:
        assert len(left) == 1, f"a committed post must leave its one lead, found {left}"
    retry = site.send(call)
    assert retry is not None, "the restarted server did not answer"
    if first is not None:
        assert retry == first, "a repeated post must get the first answer"
    assert retry["status"] in case.retry_statuses, retry
    lead_id = str(retry["lead_id"])
    assert left in (set(), {lead_id}), f"the retry answered for {lead_id}, not the lead left"

    # --- the post the crash cut off is unknown until an operator says ---------------------
    if case.resolve is not None:
        sale_id = until(lambda: _unknown_sale(site, lead_id), "the cut-off post to be unknown")
        assert site.outcome(case.campaign, lead_id)["status"] == "pending"
        site.resolve(sale_id, case.resolve)

    # --- the lead ends sold, once --------------------------------------------------------------
    final = until(lambda: _final(site, case.campaign, lead_id), "the lead's final outcome")
    assert final["status"] == "sold", final
    repeat = site.send(call)
    if retry["status"] == "pending":
        # the first answer said "wait": a repeat may tell what came of it
        assert repeat in (retry, final), f"a repeat answered {repeat}"
    else:
        assert repeat == retry, "a repeat after the outcome gets the first answer"
    _sold_once(site, case, call, lead_id, before)


def test_a_crash_in_the_sale_of_a_ping_just_answered_costs_at_most_the_quote(site: Site):
    """Posted the moment its ping was answered. A post that finds the ping's row still in
    the pings' writer's queue stores it, claimed, with its sale (``flows.post``): killed in
    the sale's transaction, it leaves nothing of either, and the retry is answered
    ``ping_unknown`` (the seller pings again), as for a ping lost in the writer's queue. If
    the writer stored the ping first, the retry sells it, as in the cases above. Either way
    no lead is left half-made, none is sold twice."""
    case = Case("sale.recorded", "ping_post", "nowait")
    site.arm(case.point)
    before = site.lead_ids()
    call = site.new_call(case.lane, case.campaign, case.flow, ping_stored=False)
    _died_at_the_point(site, case, site.send(call))
    site.start()
    assert site.lead_ids() - before == set(), "a post killed before its commit left a lead"
    retry = site.send(call)
    assert retry is not None, "the restarted server did not answer"
    if retry["status"] == "rejected":  # the ping went down with the sale
        assert retry["reasons"] == ["ping_unknown"], retry
        assert site.lead_ids() - before == set()
        return
    assert retry["status"] in case.retry_statuses, retry
    lead_id = str(retry["lead_id"])
    final = until(lambda: _final(site, case.campaign, lead_id), "the lead's final outcome")
    assert final["status"] == "sold", final
    _sold_once(site, case, call, lead_id, before)


def test_after_every_crash_each_cap_counts_exactly_the_sales_sold(site: Site):
    """Run last: once every sale has settled, each order's committed cap use is the number
    of its sales that were sold (none leaked by a crash, none counted twice)."""
    site.serving()
    until(lambda: not site.sales(("pending", "unknown")), "every sale to settle")
    sold = site.sales("sold")
    orders = [order_id for lane in LANES for order_id in lane.orders]
    used = site.committed_use()
    assert {o: used.get(o, 0) for o in orders} == {o: sold[o] for o in orders}


def _died_at_the_point(site: Site, case: Case, first: dict[str, Any] | None) -> None:
    """The armed server killed itself at the case's point. Only a delivery point is reached
    after the post may have been answered (without ``wait_for_delivery``)."""
    may_answer = case.point.startswith("delivery.") and case.campaign == "nowait"
    if first is not None and not may_answer:
        site.stop()
        pytest.fail(f"the post was answered {first} before {case.point}: is it wired?")
    if not site.died(seconds=10):
        site.stop()
        pytest.fail(f"the server never reached {case.point} (post answered {first})")


def _unknown_sale(site: Site, lead_id: str) -> str | None:
    """The lead's sale whose post is unknown once the worker has recorded it so: its outbox
    row and the sale itself. (The row is marked first, in a transaction of its own; an
    operator's verdict given between the two is overwritten by the worker's "unknown".)"""
    rows = {d["sale_id"] for d in site.deliveries(lead_id) if d["status"] == "unknown"}
    sales = {s["id"] for s in site.lead(lead_id)["sales"] if s["status"] == "unknown"}
    unknown = sorted(rows & sales)
    return unknown[0] if unknown else None


def _final(site: Site, campaign_id: str, lead_id: str) -> dict[str, Any] | None:
    outcome = site.outcome(campaign_id, lead_id)
    return outcome if outcome["status"] not in ("pending", "accepted") else None


def _sold_once(site: Site, case: Case, call: SellerCall, lead_id: str, before: set[str]) -> None:
    """One lead for the post, sold once, to the expected order; each post the buyers got
    carries the Idempotency-Key of one of its sales; caps count the sales that stand."""
    assert site.lead_ids() - before == {lead_id}, "one post, one lead"
    if call.ping_id is not None:
        ping = site.ping_row(call.ping_id)
        assert (ping["lead_id"], ping["claimed_at"] is not None) == (lead_id, True), ping
    lead = site.lead(lead_id)
    statuses = Counter(sale["status"] for sale in lead["sales"])
    assert lead["status"] == "sold", lead["status"]
    assert statuses["sold"] == 1, f"sold {statuses['sold']} times: {lead['sales']}"
    assert set(statuses) <= {"sold", "rejected"}, f"a sale left open: {lead['sales']}"
    (sold,) = [sale for sale in lead["sales"] if sale["status"] == "sold"]
    order_id, endpoint = case.sold_to
    assert sold["order_id"] == order_id

    posts = site.posts_for(call.phone)
    sales = {sale["id"]: sale for sale in lead["sales"]}
    by_endpoint = Counter(endpoint for endpoint, _ in posts)
    expected = {name: n for name, n in case.posts.items() if n}
    assert dict(by_endpoint) == expected, f"posts to the buyers: {posts}"
    assert {key for _, key in posts} <= set(sales), f"a post with a key of no sale: {posts}"
    assert {key for to, key in posts if to == endpoint} == {sold["id"]}, posts
    for key, n in Counter(key for _, key in posts).items():
        # a post is sent again only when nothing was processed (503) or the buyer dedupes
        assert n == 1 or case.lane in (RETRY, FLAKY), f"sale {key} posted {n} times"

    # the cap counts each sale that stands: sold, or (another case's) still being posted
    standing = site.sales(("sold", "pending", "unknown"))
    used = site.committed_use()
    for order_id in case.lane.orders:
        assert used.get(order_id, 0) == standing[order_id], f"cap use of {order_id}"
