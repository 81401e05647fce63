"""A post's verdict, recorded (DESIGN §8.6): one transaction for the outbox row, the sale,
the caps, the lead's answer, its postback and the sale's delivery chain. The usual verdict,
the buyer's accept of a lead's only sale with no postback or chain to queue, is one
statement (:func:`selling_the_only_sale`, ``store.only_sale``).

accepted → the sale is sold (booked in the ledger) and its chain's steps are queued;
rejected or nothing delivered → the sale is reversed and its caps refunded; unknown → the
sale keeps its place. Unless the lead falls to the next bidders (``flows.waterfall``), it
settles in the same transaction (``flows.settle``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.delivery.poster import PostedLead, PostVerdict
from pingtree.domain.caps import CapCharge
from pingtree.domain.money import from_cents
from pingtree.flows.chain import queue_chain
from pingtree.flows.picks import charges_of
from pingtree.flows.ports import Ports
from pingtree.flows.postback import postback_of_answer
from pingtree.flows.settle import Settled, SoleSale, settle, sole_answer
from pingtree.store.chain import StepKey
from pingtree.store.lead_fields import seal_redirect
from pingtree.store.only_sale import sell_only_sale
from pingtree.store.outbox import OutboxRepository
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Delivery, Sale
from pingtree.store.transactions import Work

__all__ = [
    "Recorded",
    "Verdict",
    "record_verdict",
    "selling_the_only_sale",
    "settle_with_postback",
]


@dataclass(frozen=True)
class Verdict:
    """What a post (or an operator, or the worker) concluded of an outbox row."""

    row: Delivery
    posted: PostedLead
    #: the row's status the verdict expects (a verdict that came first stands)
    was: str
    #: the row was left ``sending`` by a worker whose lease ran out
    abandoned: bool
    #: a reversed sale's place goes to the next bidders (the caller sells it after)
    refill: bool
    #: the lead's one sale, as its transaction wrote it, when the lead has no other (and
    #: this process made it): the lead settles on what the verdict knows
    sole: Sale | None

    @property
    def outcome(self) -> PostVerdict:
        verdict = self.posted.verdict
        # retries used up: nothing reached the buyer
        return PostVerdict.FAILED if verdict is PostVerdict.RETRY else verdict

    @property
    def sale_status(self) -> str:
        return {PostVerdict.ACCEPTED: "sold", PostVerdict.UNKNOWN: "unknown"}.get(
            self.outcome, "rejected"
        )

    @property
    def falls_through(self) -> bool:
        return self.sale_status == "rejected" and self.refill


@dataclass(frozen=True)
class Recorded:
    """What a verdict's transaction did: the cap charges it refunded, the lead it settled."""

    charges: tuple[CapCharge, ...]
    settled: Settled | None
    #: the first step of the sale's chain, to send now
    chain: StepKey | None = None


async def record_verdict(
    session: AsyncSession,
    ports: Ports,
    snapshot: Snapshot,
    verdict: Verdict,
    now: dt.datetime,
    lease: dt.timedelta,
) -> Recorded | None:
    """The verdict in ``session``'s transaction, if its row is still ``verdict.was`` (see
    :meth:`OutboxRepository.finish`); ``None`` when another verdict came first. ``lease``:
    for the rows it queues (postback, chain), until another worker may take them."""
    row, status = verdict.row, verdict.sale_status
    redirect = seal_redirect(verdict.posted.redirect_url, ports.vault)
    finished, sale = await OutboxRepository(session).finish_with_sale(
        row.sale_id,
        _ROW_STATUS[verdict.outcome],
        verdict.posted.reason,
        redirect,
        now,
        was=verdict.was,
        abandoned=verdict.abandoned,
        sale_status=status,
    )
    if not finished:
        return None
    charges = _charges(snapshot, sale) if sale is not None and status == "rejected" else ()
    await ports.caps.refund(session, charges)
    # the usual end: the lead settles in the same transaction, its postback too
    settled = None
    if not verdict.falls_through:
        sole = None
        if verdict.sole is not None and sale is not None and status == "sold":
            sole = SoleSale(sale, redirect)  # the lead settles on what the verdict knows
        settled = await settle_with_postback(session, snapshot, row.lead_id, now, lease, sole)
    chain = None
    if status == "sold":  # its chain's steps, durable with the sale's verdict
        chain = await queue_chain(session, snapshot, row, now, lease)
    return Recorded(charges, settled, chain)


def selling_the_only_sale(
    ports: Ports, snapshot: Snapshot, verdict: Verdict, now: dt.datetime
) -> Work[Recorded | None] | None:
    """The verdict's transaction as one statement (``store.only_sale``) when its buyer took
    the lead's one sale, made by this process, and there is nothing else to write: no
    postback to queue, no chain after the post; ``None`` otherwise (:func:`record_verdict`)."""
    sale = verdict.sole
    if sale is None or verdict.sale_status != "sold" or verdict.abandoned:
        return None
    campaign = snapshot.config.campaigns.get(sale.campaign_id)
    delivery = snapshot.config.deliveries.get(sale.order_id)
    if campaign is None or campaign.postback_url or (delivery is not None and delivery.chain):
        return None
    redirect = seal_redirect(verdict.posted.redirect_url, ports.vault)
    lead = sole_answer(SoleSale(sale, redirect))

    async def sell(session: AsyncSession) -> Recorded | None:
        done = await sell_only_sale(
            session,
            sale,
            was=verdict.was,
            reason=verdict.posted.reason,
            redirect_url=redirect,
            lead=lead,
            now=now,
        )
        if not done.finished:
            return None
        settled = Settled(sale.lead_id, sale.campaign_id, lead.answer) if done.settled else None
        return Recorded((), settled)

    return sell


async def settle_with_postback(
    session: AsyncSession,
    snapshot: Snapshot,
    lead_id: str,
    now: dt.datetime,
    lease: dt.timedelta,
    sole: SoleSale | None = None,
) -> Settled | None:
    """Settle the lead (``flows.settle``) and queue the campaign's postback of its answer,
    in ``session``'s transaction."""
    settled = await settle(session, lead_id, now, sole=sole)
    if settled is not None:
        campaign = snapshot.config.campaigns.get(settled.campaign_id)
        await postback_of_answer(session, campaign, settled, now, lease)
    return settled


#: the outbox row's final status for each verdict
_ROW_STATUS = {
    PostVerdict.ACCEPTED: "delivered",
    PostVerdict.REJECTED: "rejected",
    PostVerdict.FAILED: "failed",
    PostVerdict.UNKNOWN: "unknown",
}


def _charges(snapshot: Snapshot, sale: Sale) -> tuple[CapCharge, ...]:
    """The cap charges the sale committed: same order, price and windows (its own time)."""
    if sale.test:
        return ()
    price = from_cents(sale.revenue_cents)
    return charges_of(snapshot, sale.order_id, sale.buyer_id, price, sale.created_at)
