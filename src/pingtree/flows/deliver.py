"""Posting sold leads to their buyers, from the durable outbox (DESIGN §2 "Outbox", §8.6).

``sell`` writes a ``pending`` sale and its outbox row in the lead's transaction and
dispatches it here at once; for each row::

    take the row (queued → sending, leased: recorded before the first byte leaves; a new
      sale's rows are taken in a transaction of their own just after the sale's, in the
      same trip to SQLite's thread: :meth:`Outbox.take_new`)
    → post the full lead with the buyer's token (``delivery.poster.post_lead``)
    → accepted: the sale is sold (its redirect URL goes to the seller)
    → rejected, or nothing delivered: the sale is reversed, its caps refunded, and the
      lead falls to the next bidder (``flows.waterfall``)
    → connect failure or 429/502/503: re-sent after a backoff, up to the step's retries
    → timeout or reset after sending, another 5xx: unknown — the sale keeps its place and
      is held for an operator, or re-sent with the same Idempotency-Key (``on_unknown``)
    → once none of the lead's rows is open: the lead's final answer (``flows.settle``, in
      the verdict's transaction: ``flows.verdict``), also posted to the campaign's
      ``postback_url``
    → sold, for an order with a ``delivery.chain``: its steps' rows are written in the
      verdict's transaction and sent one after another (``flows.chain``)

A worker polls for rows nobody holds: a queued row whose lease ran out (its process died
before or between tries) is sent; a row left ``sending`` by a dead process is unknown,
never re-sent blindly. A restart therefore loses nothing and delivers nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.delivery.attempts import ATTEMPT_CONTEXT, AttemptLog
from pingtree.delivery.compiled import CompiledStep
from pingtree.delivery.poster import PostContext, PostedLead, PostVerdict, post_lead
from pingtree.failpoints import failpoint
from pingtree.flows.chain import ChainSteps
from pingtree.flows.ports import LeadOnHand, Ports
from pingtree.flows.postback import dispatch_postbacks
from pingtree.flows.settle import Settled
from pingtree.flows.verdict import (
    Verdict,
    record_verdict,
    selling_the_only_sale,
    settle_with_postback,
)
from pingtree.flows.waiting_sellers import WaitingSellers
from pingtree.flows.waterfall import lead_values, next_bidders
from pingtree.store.lead_fields import open_answer
from pingtree.store.outbox import OutboxRepository
from pingtree.store.periodic import Periodic
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Delivery
from pingtree.store.traffic import LeadRepository
from pingtree.store.transactions import Work

__all__ = ["Outbox"]

logger = logging.getLogger(__name__)

#: leads kept on hand for their posts at most (each is a few fields)
_ON_HAND_MAX = 10_000
#: a row taken for a new sale and not dispatched by it this long after (its seller's
#: request was cancelled in between) is sent by the worker
_HELD_SECONDS = 1.0


class Outbox:
    """The outbox's dispatcher and worker for one process (:class:`DeliveryQueue`).

    ``lease_margin`` is added to a post's timeout for the lease of a row being sent;
    ``backoff`` is the first retry's delay (doubled each try); the worker looks for
    abandoned rows every ``poll_seconds``.
    """

    def __init__(
        self,
        log: AttemptLog | None,
        *,
        lease_margin: dt.timedelta = dt.timedelta(seconds=30),
        backoff: dt.timedelta = dt.timedelta(milliseconds=500),
        poll_seconds: float = 1.0,
    ) -> None:
        self._log = log
        self._lease_margin = lease_margin
        self._backoff = backoff
        self._ports: Ports | None = None
        self._worker = Periodic("outbox worker", poll_seconds, self._sweep, "outbox sweep failed")
        self._posting: dict[str, asyncio.Task[None]] = {}
        self._sellers = WaitingSellers()
        #: leads this process sold and is posting, by id (the oldest forgotten first)
        self._on_hand: OrderedDict[str, LeadOnHand] = OrderedDict()
        #: the order of each sale dispatched here and not yet taken
        self._orders: dict[str, str] = {}
        #: rows taken for new sales (:meth:`take_new`) and not yet sent, with when
        self._held: dict[str, tuple[Delivery, float]] = {}
        #: the steps after sold leads' posts
        self._chain = ChainSteps(log, self._read_lead, lease_margin=lease_margin, backoff=backoff)

    def start(self, ports: Ports) -> None:
        self._ports = ports
        self._chain.start(ports)
        self._worker.start()

    async def stop(self) -> None:
        """Stop the worker; posts in flight get a moment to end, then are cancelled (a row
        cut off mid-post is found by the next worker as unknown, never re-sent blindly)."""
        await self._worker.stop()
        tasks = list(self._posting.values())
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=5)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        await self._chain.stop()

    # --- the in-process side (DeliveryQueue) ----------------------------------------------

    @property
    def fresh_lease(self) -> dt.timedelta:
        return self._lease_margin

    def expect(self, lead_id: str) -> asyncio.Future[dict[str, Any]]:
        return self._sellers.expect(lead_id)

    def take_new(self, orders: Mapping[str, str]) -> Work[list[Delivery]]:
        """The work of a transaction taking the outbox rows of a sale that just committed
        (sale id → order) for their first post from here, leased for the longest of their
        posts' timeouts. A crash before it commits leaves them queued for the worker."""
        ports = self._require_ports()
        snapshot = ports.snapshots.current()
        lease = max(self._lease(_post_step(snapshot, order_id)) for order_id in orders.values())
        now = ports.clock.now()

        async def take(session: AsyncSession) -> list[Delivery]:
            return await OutboxRepository(session).take_new(list(orders), now, now + lease)

        return take

    def hold_taken(self, rows: Sequence[Delivery]) -> None:
        """Rows :meth:`take_new`'s transaction took: :meth:`dispatch` sends them without
        taking them again (the worker does, if no dispatch comes)."""
        at = time.monotonic()
        self._held.update((row.sale_id, (row, at)) for row in rows)

    def dispatch(self, sale_ids: Sequence[str], lead: LeadOnHand | None = None) -> None:
        if lead is not None and sale_ids:
            self._on_hand[lead.id] = lead
            while len(self._on_hand) > _ON_HAND_MAX:
                self._on_hand.popitem(last=False)
            self._orders.update((s, lead.sales[s].order_id) for s in sale_ids if s in lead.sales)
        for sale_id in sale_ids:
            self._spawn(sale_id, own=True)

    async def wait(
        self,
        lead_id: str,
        answer: asyncio.Future[dict[str, Any]],
        timeout: float,  # noqa: ASYNC109 (the campaign's post deadline)
    ) -> dict[str, Any]:
        return await self._sellers.wait(lead_id, answer, timeout)

    def answer_waiting(self) -> None:
        """Answer every seller waiting for its lead's delivery now, and from now on,
        ``pending``: for a server about to stop (:meth:`WaitingSellers.answer_all_pending`)."""
        self._sellers.answer_all_pending()

    @property
    def posting(self) -> int:
        """Posts (and chain steps) this process is making or waiting to retry."""
        return len(self._posting) + self._chain.sending

    # --- operators -------------------------------------------------------------------------

    async def resolve(self, sale_id: str, delivered: bool) -> bool:
        """An operator's verdict on a sale whose post outcome is unknown: the buyer has the
        lead (sold), or not (reversed, caps refunded, and its place offered to the next
        bidders as after a rejection). ``False`` when the sale is not unknown."""
        ports = self._require_ports()
        async with ports.sessions() as session:
            row = await OutboxRepository(session).get(sale_id)
        if row is None or row.status != "unknown":
            return False
        verdict = PostVerdict.ACCEPTED if delivered else PostVerdict.REJECTED
        posted = PostedLead(verdict, "resolved by an operator")
        return await self._conclude(row, posted, refill=True, was="unknown")

    # --- one row ---------------------------------------------------------------------------

    def _spawn(self, sale_id: str, *, own: bool) -> None:
        if sale_id in self._posting:
            return
        task = asyncio.create_task(self._deliver(sale_id, own=own), name=f"post {sale_id}")
        self._posting[sale_id] = task
        task.add_done_callback(lambda _: self._posting.pop(sale_id, None))

    async def _deliver(self, sale_id: str, *, own: bool) -> None:
        try:
            while True:
                again = await self._try(sale_id, own=own)
                if again is None:
                    return
                await asyncio.sleep(again.total_seconds())
                own = True
        except Exception:
            logger.exception("delivering sale %s failed; the worker will find its row", sale_id)

    async def _try(self, sale_id: str, *, own: bool) -> dt.timedelta | None:
        """One post of the row; the delay before the next try, or ``None`` when done."""
        ports = self._require_ports()
        snapshot = ports.snapshots.current()
        now = ports.clock.now()
        # the post's timeout sets the row's lease: its order is known for a sale this
        # process just made, else read from the row
        order_id = self._orders.pop(sale_id, None)
        held = self._held.pop(sale_id, None)
        row: Delivery | None
        if held is not None:  # taken with its sale
            row = held[0]
            step = _post_step(snapshot, row.order_id)
            lease = self._lease(step)
        else:
            if order_id is None:  # a row the worker found: its order (which never changes)
                async with ports.sessions() as session:
                    found = await OutboxRepository(session).get(sale_id)
                order_id = found.order_id if found is not None else None
            step = _post_step(snapshot, order_id) if order_id is not None else None
            lease = self._lease(step)
            row = await ports.transactions.run_one(
                lambda session: OutboxRepository(session).take(sale_id, now, now + lease, own=own)
            )
        if row is None:
            return None
        failpoint("delivery.taken")
        if step is None:
            posted = PostedLead(PostVerdict.FAILED, "the order has no post step any more")
        else:
            posted = await self._post(snapshot, row, step)
            failpoint("delivery.answered")
        if step is not None and row.tries <= step.retries and _retried(posted, step):
            delay: dt.timedelta = self._backoff * 2 ** (row.tries - 1)
            async with ports.sessions.begin() as session:
                await OutboxRepository(session).retry_later(
                    sale_id, now + delay, now + delay + lease, posted.reason
                )
            failpoint("delivery.retry_queued")
            return delay
        await self._conclude(row, posted, refill=True, was="sending")
        return None

    async def _post(self, snapshot: Snapshot, row: Delivery, step: CompiledStep) -> PostedLead:
        ports = self._require_ports()
        lead = self._on_hand.get(row.lead_id) or await self._read_lead(snapshot, row.lead_id)
        if lead is None:
            return PostedLead(PostVerdict.FAILED, "the lead is gone")
        vertical = snapshot.config.verticals[lead.vertical_id]
        values = lead.values
        ATTEMPT_CONTEXT.set((lead.ping_id, lead.id))
        return await post_lead(
            ports.http,
            step,
            values,
            token=row.token,
            context=PostContext(row.sale_id, row.order_id, row.buyer_id, lead.id, lead.ping_id),
            pii={
                s.name: str(values[s.name]) for s in vertical.fields if s.pii and s.name in values
            },
            resolve_secret=ports.resolve_secret,
            log=self._log,
            tries_left=row.tries <= step.retries,
        )

    async def _read_lead(self, snapshot: Snapshot, lead_id: str) -> LeadOnHand | None:
        ports = self._require_ports()
        async with ports.sessions() as session:
            lead = await LeadRepository(session).get(lead_id)
        vertical = snapshot.config.verticals.get(lead.vertical_id) if lead is not None else None
        if lead is None or vertical is None:
            return None
        values = lead_values(ports, vertical, lead)
        return LeadOnHand(lead.id, lead.vertical_id, lead.ping_id, values)

    async def _conclude(
        self,
        row: Delivery,
        posted: PostedLead,
        *,
        refill: bool,
        was: str,
        abandoned: bool = False,
    ) -> bool:
        """Record the post's verdict (``flows.verdict``), if its row is still ``was``; a
        reversed sale's place goes down the ranking (``flows.waterfall``); then the lead's
        answer if it was the last open row. ``False`` when another verdict came first."""
        ports = self._require_ports()
        snapshot = ports.snapshots.current()
        now = ports.clock.now()
        on_hand = self._on_hand.get(row.lead_id)
        sales = on_hand.sales if on_hand is not None else {}
        verdict = Verdict(
            row,
            posted,
            was=was,
            abandoned=abandoned,
            refill=refill,
            sole=sales.get(row.sale_id) if len(sales) == 1 else None,
        )
        one_statement = selling_the_only_sale(ports, snapshot, verdict, now)
        if one_statement is not None:
            recorded = await ports.transactions.run_one(one_statement)
        else:
            recorded = await ports.transactions.run(
                lambda session: record_verdict(
                    session, ports, snapshot, verdict, now, self._lease_margin
                )
            )
        if recorded is None:
            return False
        if recorded.charges:
            await ports.caps.after_refund(recorded.charges)
        if recorded.chain is not None:
            self._chain.dispatch(recorded.chain)
        settled = recorded.settled
        if verdict.falls_through:
            self.dispatch(await next_bidders(ports, snapshot, row.lead_id))
            settled = await ports.transactions.run(
                lambda session: settle_with_postback(
                    session, snapshot, row.lead_id, ports.clock.now(), self._lease_margin
                )
            )
        if settled is not None:
            self._announce(settled)
        return True

    def _announce(self, settled: Settled) -> None:
        """Give a settled lead's answer to the sellers waiting for it, and send the
        campaign's postback queued with it."""
        self._on_hand.pop(settled.lead_id, None)
        ports = self._require_ports()
        self._sellers.answer(settled.lead_id, open_answer(settled.answer, ports.vault))
        campaign = ports.snapshots.current().config.campaigns.get(settled.campaign_id)
        if campaign is not None and campaign.postback_url:
            dispatch_postbacks(ports, settled.lead_id)

    # --- the worker ------------------------------------------------------------------------

    async def _sweep(self) -> None:
        ports = self._require_ports()
        now = ports.clock.now()
        self._send_held_leftovers()
        async with ports.sessions() as session:
            due = await OutboxRepository(session).due(now)
        for sale_id, status in due:
            if sale_id in self._posting:
                continue
            if status == "queued":
                self._spawn(sale_id, own=False)
            else:
                await self._abandoned(sale_id, now)
        await self._chain.sweep(now)

    def _send_held_leftovers(self) -> None:
        """Send the rows taken for new sales that their sales did not dispatch in time (a
        seller's request cancelled, or failed, between the commit and the dispatch)."""
        given_up = time.monotonic() - _HELD_SECONDS
        for sale_id, (_, at) in list(self._held.items()):
            if at < given_up and sale_id not in self._posting:
                self._spawn(sale_id, own=True)

    async def _abandoned(self, sale_id: str, now: dt.datetime) -> None:
        """A row its process left ``sending``: the buyer may have the lead. Re-sent with
        the same Idempotency-Key for a buyer that dedupes, else unknown until an operator
        says (each a conditional update: a verdict that came first stands)."""
        ports = self._require_ports()
        async with ports.sessions() as session:
            row = await OutboxRepository(session).get(sale_id)
        if row is None or row.status != "sending":
            return
        step = _post_step(ports.snapshots.current(), row.order_id)
        if step is not None and step.on_unknown == "retry" and row.tries <= step.retries:
            async with ports.sessions.begin() as session:
                await OutboxRepository(session).retry_abandoned(sale_id, now)
            return
        posted = PostedLead(PostVerdict.UNKNOWN, "worker stopped mid-post")
        await self._conclude(row, posted, refill=False, was="sending", abandoned=True)

    # --- helpers ---------------------------------------------------------------------------

    def _lease(self, step: CompiledStep | None) -> dt.timedelta:
        timeout = dt.timedelta(milliseconds=step.timeout_ms if step is not None else 0)
        return timeout + self._lease_margin

    def _require_ports(self) -> Ports:
        if self._ports is None:
            raise RuntimeError("the outbox was not started")
        return self._ports


def _post_step(snapshot: Snapshot, order_id: str) -> CompiledStep | None:
    delivery = snapshot.config.deliveries.get(order_id)
    return delivery.post if delivery is not None else None


def _retried(posted: PostedLead, step: CompiledStep) -> bool:
    """Whether this verdict is re-sent: nothing was processed, or the order's buyer dedupes
    on the Idempotency-Key and asked for unknown outcomes to be re-sent."""
    if posted.verdict is PostVerdict.RETRY:
        return True
    return posted.verdict is PostVerdict.UNKNOWN and step.on_unknown == "retry"
