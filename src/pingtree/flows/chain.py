"""The delivery chain: steps after a sold lead's post (``delivery.chain``), from the outbox.

LeadConduit's model: a post, then a CRM webhook, then an email. The post's verdict
``sold`` writes every step's row in its transaction (:func:`queue_chain`); then, step by
step::

    take the step (queued → sending, leased)
    → post the full lead with the buyer's token (PII allowed: the lead is sold)
    → connect failure or 429/502/503: re-sent after a backoff, up to the step's retries
      (an unknown outcome too with ``on_unknown: retry``)
    → its verdict, and in the same transaction the next step released: queued, or
      skipped when a success ends the chain (``continue_on_success: false``); after a
      failure the next step always runs

A step's failure never unsells the lead: the sale is done. Each try is in the delivery
log (kind ``chain``) and each step's status on the lead's page. A worker takes steps whose
lease ran out; one left ``sending`` by a dead process is sent again (at least once, with
the same ``Idempotency-Key``), then unknown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.delivery.attempts import ATTEMPT_CONTEXT, AttemptLog
from pingtree.delivery.compiled import ChainLink
from pingtree.delivery.poster import PostContext, PostedLead, PostVerdict, post_lead
from pingtree.flows.ports import LeadOnHand, Ports
from pingtree.store.chain import ChainRepository, StepKey
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import ChainStepRow, Delivery

__all__ = ["ChainSteps", "queue_chain"]

logger = logging.getLogger(__name__)

#: reads a sold lead back (PII in clear) for its steps
ReadLead = Callable[[Snapshot, str], Awaitable[LeadOnHand | None]]

#: a step's final status for each verdict
_STATUS = {
    PostVerdict.ACCEPTED: "delivered",
    PostVerdict.REJECTED: "rejected",
    PostVerdict.FAILED: "failed",
    PostVerdict.RETRY: "failed",  # retries used up: nothing reached the buyer
    PostVerdict.UNKNOWN: "unknown",
}


async def queue_chain(
    session: AsyncSession,
    snapshot: Snapshot,
    row: Delivery,
    now: dt.datetime,
    lease_margin: dt.timedelta,
) -> StepKey | None:
    """Write the chain of a sale whose post was accepted, in the verdict's transaction: the
    first step's key to send now, or ``None`` for an order without a chain."""
    delivery = snapshot.config.deliveries.get(row.order_id)
    if delivery is None or not delivery.chain:
        return None
    first = delivery.chain[0].step
    lease = dt.timedelta(milliseconds=first.timeout_ms) + lease_margin
    names = [link.name for link in delivery.chain]
    await ChainRepository(session).add(
        row.sale_id, row.lead_id, row.order_id, row.buyer_id, row.token, names, now, lease
    )
    return (row.sale_id, 0)


class ChainSteps:
    """The chain's sender for one process, run by the outbox (:class:`flows.deliver.Outbox`):
    ``dispatch`` sends a step this process released, ``sweep`` takes abandoned ones."""

    def __init__(
        self,
        log: AttemptLog | None,
        read_lead: ReadLead,
        *,
        lease_margin: dt.timedelta,
        backoff: dt.timedelta,
    ) -> None:
        self._log = log
        self._read_lead = read_lead
        self._lease_margin = lease_margin
        self._backoff = backoff
        self._ports: Ports | None = None
        self._sending: dict[StepKey, asyncio.Task[None]] = {}

    def start(self, ports: Ports) -> None:
        self._ports = ports

    async def stop(self) -> None:
        """Steps in flight get a moment to end, then are cancelled (a step cut off is
        found by the next worker and sent again)."""
        tasks = list(self._sending.values())
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=5)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    @property
    def sending(self) -> int:
        return len(self._sending)

    def dispatch(self, key: StepKey, *, own: bool = True) -> None:
        if key in self._sending:
            return
        task = asyncio.create_task(self._run(key, own=own), name=f"chain {key[0]}.{key[1]}")
        self._sending[key] = task
        task.add_done_callback(lambda _: self._sending.pop(key, None))

    async def sweep(self, now: dt.datetime) -> None:
        ports = self._require_ports()
        async with ports.sessions() as session:
            due = await ChainRepository(session).due(now)
        for key, status in due:
            if key in self._sending:
                continue
            if status == "queued":
                self.dispatch(key, own=False)
            else:
                await self._abandoned(key, now)

    # --- one step --------------------------------------------------------------------------

    async def _run(self, key: StepKey, *, own: bool) -> None:
        try:
            while True:
                again = await self._try(key, own=own)
                if again is None:
                    return
                await asyncio.sleep(again.total_seconds())
                own = True
        except Exception:
            logger.exception("chain step %s of sale %s failed; the worker will find it", *key)

    async def _try(self, key: StepKey, *, own: bool) -> dt.timedelta | None:
        ports = self._require_ports()
        snapshot = ports.snapshots.current()
        now = ports.clock.now()

        async def take(session: AsyncSession) -> tuple[ChainStepRow | None, ChainLink | None]:
            found = await session.get(ChainStepRow, key)
            link = _link(snapshot, found) if found is not None else None
            return await ChainRepository(session).take(
                key, now, now + self._lease(link), own=own
            ), link

        row, link = await ports.transactions.run(take)
        if row is None:
            return None
        if link is None:
            posted = PostedLead(PostVerdict.FAILED, "the order has no such chain step any more")
        else:
            posted = await self._post(snapshot, row, link)
        if link is not None and row.tries <= link.step.retries and _retried(posted, link):
            delay: dt.timedelta = self._backoff * 2 ** (row.tries - 1)
            lease = self._lease(link)
            async with ports.sessions.begin() as session:
                await ChainRepository(session).retry_later(
                    key, now + delay, now + delay + lease, posted.reason
                )
            return delay
        await self._conclude(row, posted, link)
        return None

    async def _post(self, snapshot: Snapshot, row: ChainStepRow, link: ChainLink) -> PostedLead:
        ports = self._require_ports()
        lead = await self._read_lead(snapshot, row.lead_id)
        if lead is None:
            return PostedLead(PostVerdict.FAILED, "the lead is gone")
        vertical = snapshot.config.verticals[lead.vertical_id]
        values = lead.values
        ATTEMPT_CONTEXT.set((lead.ping_id, lead.id))
        return await post_lead(
            ports.http,
            link.step,
            values,
            token=row.token,
            # its own Idempotency-Key: the sale's and the step's name
            context=PostContext(
                f"{row.sale_id}.{row.name}", row.order_id, row.buyer_id, lead.id, lead.ping_id
            ),
            pii={
                s.name: str(values[s.name]) for s in vertical.fields if s.pii and s.name in values
            },
            resolve_secret=ports.resolve_secret,
            log=self._log,
            tries_left=row.tries <= link.step.retries,
            kind="chain",
        )

    async def _conclude(
        self, row: ChainStepRow, posted: PostedLead, link: ChainLink | None
    ) -> None:
        """The step's verdict and the next step's release, in one transaction; then the
        next step is sent from here."""
        ports = self._require_ports()
        now = ports.clock.now()
        ends = (
            posted.verdict is PostVerdict.ACCEPTED
            and link is not None
            and not link.continue_on_success
        )
        snapshot = ports.snapshots.current()
        delivery = snapshot.config.deliveries.get(row.order_id)
        following = (
            delivery.chain[row.position + 1]
            if delivery is not None and row.position + 1 < len(delivery.chain)
            else None
        )

        async def record(session: AsyncSession) -> StepKey | None:
            return await ChainRepository(session).finish(
                (row.sale_id, row.position),
                _STATUS[posted.verdict],
                posted.reason,
                now,
                ends_chain=ends,
                lease=self._lease(following),
            )

        next_key = await ports.transactions.run(record)
        if next_key is not None:
            self.dispatch(next_key)

    async def _abandoned(self, key: StepKey, now: dt.datetime) -> None:
        """A step its process left ``sending``: sent again once more than its retries (at
        least once), else unknown and the chain goes on."""
        ports = self._require_ports()
        async with ports.sessions() as session:
            row = await session.get(ChainStepRow, key)
        if row is None or row.status != "sending":
            return
        link = _link(ports.snapshots.current(), row)
        retries = link.step.retries if link is not None else 0
        if row.tries <= retries + 1:
            async with ports.sessions.begin() as session:
                await ChainRepository(session).requeue_abandoned(key, now)
            return
        posted = PostedLead(PostVerdict.UNKNOWN, "worker stopped mid-post")
        await self._conclude(row, posted, link)

    def _lease(self, link: ChainLink | None) -> dt.timedelta:
        timeout = dt.timedelta(milliseconds=link.step.timeout_ms if link is not None else 0)
        return timeout + self._lease_margin

    def _require_ports(self) -> Ports:
        if self._ports is None:
            raise RuntimeError("the chain was not started")
        return self._ports


def _link(snapshot: Snapshot, row: ChainStepRow) -> ChainLink | None:
    """The row's step in today's configuration, found by its name."""
    delivery = snapshot.config.deliveries.get(row.order_id)
    if delivery is None:
        return None
    return next((link for link in delivery.chain if link.name == row.name), None)


def _retried(posted: PostedLead, link: ChainLink) -> bool:
    if posted.verdict is PostVerdict.RETRY:
        return True
    return posted.verdict is PostVerdict.UNKNOWN and link.step.on_unknown == "retry"
