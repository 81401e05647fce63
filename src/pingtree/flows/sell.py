"""Selling a lead: the end of the post and of the direct post (DESIGN §2, §8.1, §9).

**One durable step.** Once the seller's request is decided, a single transaction claims the
post's ping (or stores it claimed, when it was still queued in this process's pings'
writer: :class:`PingClaim`), writes the lead, re-checks each winner on the full lead
(falling back down the ranking for one that can no longer take it), commits the caps and
records the sales, revenue, cost and profit, with an outbox row for each sale to post to
its buyer. All of it is in the database, or none of it: a crash before the commit leaves
the ping unclaimed for the seller's retry (or, one that was still queued, lost with the
post: a quote, never a lead); a crash after it leaves outbox rows a surviving worker
delivers. On PostgreSQL, a sale that reads nothing on the way (no stored ping to claim, no
dedup history, caps in Redis) is one statement (``store.deferred``). Just
after the commit, the sale's outbox rows are taken for their first post from this process,
in a transaction of their own (:class:`_TakeItsPosts`): a crash between the two leaves them
queued, never ``sending`` unsent.

An order with no post step takes the lead at once (its buyer collects it): that sale is
``sold`` in the transaction. A sale to an order with a post step is ``pending`` until
``flows.deliver`` has posted it; the seller's answer then waits for the buyer's (with the
campaign's ``wait_for_delivery``, up to ``post_deadline_ms``, else ``pending``), or is
``accepted`` at once with the final outcome at ``GET /api/v1/leads/{id}``.

:func:`refill` is the waterfall: after a buyer rejected its post, the next bidders.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.auction import Quote, split_payout
from pingtree.domain.campaigns import Campaign
from pingtree.domain.money import from_cents, to_cents
from pingtree.domain.outcomes import Outcome, Reason
from pingtree.domain.trace import Candidate
from pingtree.failpoints import failpoint
from pingtree.flows.intake import seen_inbound
from pingtree.flows.picks import (
    LeadToSell,
    Pick,
    any_dedupes,
    held_nothing,
    pick_orders,
    seller_payout,
)
from pingtree.flows.ping_claim import PingClaim, claim_ping, stored_with
from pingtree.flows.ports import DeliveryQueue, LeadOnHand, Ports
from pingtree.flows.postback import dispatch_postbacks, queue_postback
from pingtree.flows.requests import rejected
from pingtree.flows.sale_rows import accepted, fill_lead_row, final_answer, new_sale
from pingtree.store.dedup import INBOUND, DedupRepository
from pingtree.store.lead_fields import open_answer
from pingtree.store.outbox import OutboxRepository
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Delivery, Lead, Sale
from pingtree.store.traffic import LeadRepository, SaleRepository
from pingtree.store.transactions import Work

__all__ = ["Intake", "refill", "sell"]


@dataclass(frozen=True)
class Intake:
    """How a new lead enters :func:`sell`'s transaction."""

    #: the lead's row, not yet added to any session (``flows.intake.new_lead``)
    row: Lead
    #: the post's claim on its ping; ``None`` for a direct post
    claim: PingClaim | None
    #: the seller's answer when the lead is refused before any sale (the post disagrees
    #: with its ping, the auction found no buyer); ``None`` to sell it
    refusal: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Placed:
    """What a sale's transaction wrote: the new sales (with their picks), the ids of those
    to post, and the answer the seller gets now (``None``: it waits for the buyers)."""

    sales: list[tuple[Sale, Pick]]
    pending: list[str]
    answer: dict[str, Any] | None
    #: the ping's cap holds were dropped in the transaction
    released: bool = False


class _TakeItsPosts:
    """The transaction after a sale's (:class:`~pingtree.store.transactions.After`): its
    new outbox rows taken for their first post from here, so that the post need not take
    them in a trip of its own."""

    def __init__(self, outbox: DeliveryQueue) -> None:
        self._outbox = outbox

    def work(self, placed: _Placed | None) -> Work[Sequence[Delivery]] | None:
        if placed is None:
            return None
        failpoint("sale.committed")
        pending = set(placed.pending)
        orders = {sale.id: sale.order_id for sale, _ in placed.sales if sale.id in pending}
        return self._outbox.take_new(orders) if orders else None

    def ended(self, taken: Sequence[Delivery] | None) -> None:
        if taken:
            self._outbox.hold_taken(taken)


class _CapFull(Exception):
    def __init__(self, quote: Quote) -> None:
        self.quote = quote


async def sell(
    ports: Ports, snapshot: Snapshot, campaign: Campaign, lead: LeadToSell, intake: Intake
) -> dict[str, Any] | None:
    """The one durable step of a post or direct post, then the seller's answer; ``None``
    when the ping was no longer open to claim (claimed by another post, or expired)."""
    taken = intake.claim.taken if intake.claim is not None else None
    durably = _durably(ports, snapshot, campaign, lead, intake)
    # to its end even if the seller's request is cancelled meanwhile, so that what
    # committed is known: the sale's posts taken, its ping taken from the writer
    placed = await asyncio.shield(durably if taken is None else stored_with(taken, durably))
    if placed is None:
        return None
    await _after_commit(ports, lead, placed, release_holds=not placed.released)
    sales = {sale.id: sale for sale, _ in placed.sales}
    on_hand = LeadOnHand(lead.id, campaign.vertical_id, lead.ping_id, lead.values, sales)
    if placed.answer is not None:
        ports.outbox.dispatch(placed.pending, on_hand)
        if campaign.postback_url and not placed.pending:  # a final answer, its postback
            dispatch_postbacks(ports, lead.id)
        return placed.answer
    waiting = ports.outbox.expect(lead.id)
    ports.outbox.dispatch(placed.pending, on_hand)
    answer = await ports.outbox.wait(lead.id, waiting, campaign.post_deadline_ms / 1000)
    if answer["status"] != "pending":
        return answer  # settled: recorded as the first answer with it
    # the seller is answered pending, unless the lead settled meanwhile: whichever is
    # recorded first is the answer a repeat of the post gets
    first = await ports.transactions.run(
        lambda session: LeadRepository(session).answer_first(lead.id, answer)
    )
    return open_answer(first, ports.vault) if first is not None else answer


async def _durably(
    ports: Ports, snapshot: Snapshot, campaign: Campaign, lead: LeadToSell, intake: Intake
) -> _Placed | None:
    """The sale's transaction, run again without an order whose cap filled meanwhile."""
    notes: list[Candidate] = []
    dropped: set[str] = set()
    while True:
        try:
            return await ports.transactions.run(
                lambda session: _take_in(
                    session, ports, snapshot, campaign, lead, intake, notes, dropped
                ),
                after=_TakeItsPosts(ports.outbox),
            )
        except _CapFull as full:  # the transaction rolled back: again without that order
            _drop(full.quote, dropped, notes)


async def refill(
    ports: Ports,
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadToSell,
    sales: Sequence[Sale],
) -> list[str]:
    """The waterfall: after buyers rejected their posts, sell the freed places to the next
    bidders in the ranking (skipping every buyer already tried), only if the campaign's
    money rules still hold; the payout is split again over all the lead's live sales. The
    new sales' ids that wait for a post."""
    live = [sale for sale in sales if sale.status != "rejected"]
    wanted = len(lead.winners) - len(live)
    if wanted <= 0:
        return []
    notes = [Candidate.from_json(row) for row in lead.auction.get("sale_notes", [])]
    tried = {sale.buyer_id for sale in sales}
    dropped: set[str] = set()
    while True:
        try:
            placed = await ports.transactions.run(
                lambda session: _place(
                    session, ports, snapshot, campaign, lead, notes, dropped, wanted, live, tried
                )
            )
        except _CapFull as full:
            _drop(full.quote, dropped, notes)
            continue
        break
    if placed is None:
        return []
    await _after_commit(ports, lead, placed, release_holds=False)
    return placed.pending


async def _take_in(
    session: AsyncSession,
    ports: Ports,
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadToSell,
    intake: Intake,
    notes: list[Candidate],
    dropped: set[str],
) -> _Placed | None:
    """The transaction's work: claim → lead → refused, or sold / pending / unsold."""
    if intake.claim is not None and not await claim_ping(session, intake.claim, lead):
        return None
    failpoint("sale.claimed")
    released = held_nothing(snapshot, lead) or (
        lead.ping_id is not None and await ports.caps.release_in(session, lead.ping_id)
    )
    # every live lead is remembered in the inbound history, with the sale's own dedup keys
    duplicate = _remembered(lead) and await seen_inbound(
        session, campaign, lead.dedup_keys, lead.now
    )
    refusal = intake.refusal
    if refusal is None and duplicate:
        refusal = rejected([Reason.DUPLICATE], lead_id=lead.id)
    if refusal is not None:
        fill_lead_row(intake.row, "rejected", refusal, refusal, lead.auction, lead.now)
        await LeadRepository(session).insert(intake.row)
        failpoint("sale.lead")
        if _remembered(lead):
            await DedupRepository(session).record([INBOUND], lead.dedup_keys, lead.id, lead.now)
        await _postback(session, ports, campaign, lead, refusal, 0)
        return _Placed([], [], refusal, released)
    placed = await _place(
        session, ports, snapshot, campaign, lead, notes, dropped, len(lead.winners), row=intake.row
    )
    assert placed is not None  # a new lead is always placed, if only as unsold
    return dataclasses.replace(placed, released=released)


async def _place(
    session: AsyncSession,
    ports: Ports,
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadToSell,
    notes: list[Candidate],
    dropped: set[str],
    wanted: int,
    live: Sequence[Sale] = (),
    tried: set[str] | frozenset[str] = frozenset(),
    *,
    row: Lead | None = None,
) -> _Placed | None:
    """Sell up to ``wanted`` places beside the ``live`` sales, to orders of buyers not
    ``tried`` and not ``dropped``, while the campaign's money rules hold, in ``session``'s
    transaction: the sales with their cap commits (:class:`_CapFull` when a cap filled
    meanwhile: roll back and call again) and outbox rows, the payout split again over all
    the live sales, dedup history, and the lead's state. ``row``: the new lead's row, which
    is recorded unsold when nothing can be sold; for an older lead (the waterfall) nothing
    sold is ``None``."""
    last_sold = await _last_sold(session, snapshot, lead)
    picks = pick_orders(snapshot, campaign, lead, last_sold, dropped, notes, set(tried), wanted)
    revenue = sum((from_cents(s.revenue_cents) for s in live), Decimal("0.00"))
    revenue += sum((p.quote.price for p in picks), Decimal("0.00"))
    payout = seller_payout(campaign, lead, revenue) if picks else None
    if payout is None:
        if row is None:
            return None
        picks, payout = [], Decimal("0.00")

    deliveries = snapshot.config.deliveries
    prices = [from_cents(s.revenue_cents) for s in live] + [p.quote.price for p in picks]
    costs = split_payout(payout, prices) if prices else []
    sales = [
        (new_sale(campaign, lead, pick, cost, post=pick.quote.order_id in deliveries), pick)
        for pick, cost in zip(picks, costs[len(live) :], strict=True)
    ]
    pending = [sale.id for sale, _ in sales if sale.status == "pending"]
    auction = {**lead.auction, "sale_notes": [n.to_json() for n in notes]}
    answer: dict[str, Any] | None = None
    if row is None:
        await LeadRepository(session).note_auction(lead.id, auction)
    else:  # the new lead goes in as the transaction leaves it: one INSERT
        if pending:
            answer = accepted(lead) if not campaign.wait_for_delivery else None
            # the lead's own answer stays open (``pending`` at GET) until its posts settle
            fill_lead_row(row, "pending", None, answer, auction, lead.now)
        else:
            answer = final_answer(lead, [sale for sale, _ in sales], payout)
            fill_lead_row(row, "sold" if sales else "unsold", answer, answer, auction, lead.now)
            row.revenue_cents = sum(sale.revenue_cents for sale, _ in sales)
            row.cost_cents = to_cents(payout) if sales else 0
        await LeadRepository(session).insert(row)
        failpoint("sale.lead")
        if not pending:  # answered at once: the campaign's postback of it, too
            await _postback(session, ports, campaign, lead, answer, row.cost_cents)
    for sale, cost in zip(live, costs, strict=False):
        await SaleRepository(session).set_cost(sale.id, to_cents(cost), lead.now)
    await SaleRepository(session).insert([sale for sale, _ in sales])
    tokens: Mapping[str, str] = lead.auction.get("tokens", {})
    posts = [
        (sale.id, lead.id, sale.order_id, sale.buyer_id, tokens.get(sale.order_id))
        for sale, _ in sales
        if sale.status == "pending"
    ]
    await OutboxRepository(session).add(posts, ports.clock.now(), ports.outbox.fresh_lease)
    if _remembered(lead):  # who got this consumer; a new lead, the inbound history too
        buyers = sorted({sale.buyer_id for sale, _ in sales})
        inbound = [INBOUND] if row is not None else []
        await DedupRepository(session).record(inbound + buyers, lead.dedup_keys, lead.id, lead.now)
    # last, so that the counters' rows (shared by every sale of the order) are locked for
    # as short a time as can be; in buyer order, so concurrent sales lock them in one order
    for sale, pick in sorted(sales, key=lambda sp: sp[0].buyer_id):
        if pick.charges and not await ports.caps.commit(
            session, sale.id, lead.ping_id, pick.charges, lead.now
        ):
            raise _CapFull(pick.quote)
    failpoint("sale.recorded")
    return _Placed(sales, pending, answer)


async def _after_commit(
    ports: Ports, lead: LeadToSell, placed: _Placed, *, release_holds: bool
) -> None:
    """Tell the cap ledger what committed; a new lead's ping holds no room any more."""
    for sale, pick in placed.sales:
        if pick.charges:
            await ports.caps.after_commit(sale.id, pick.charges)
    if release_holds and lead.ping_id is not None:
        await ports.caps.release(lead.ping_id, lead.now)


async def _postback(
    session: AsyncSession,
    ports: Ports,
    campaign: Campaign,
    lead: LeadToSell,
    answer: Mapping[str, Any] | None,
    payout_cents: int,
) -> None:
    """Queue the campaign's postback of a final answer given at once (sold or rejected)."""
    if answer is None or not campaign.postback_url:
        return
    event = "sold" if answer.get("status") == "sold" else "rejected"
    await queue_postback(
        session,
        campaign,
        lead.id,
        event,
        payout_cents if event == "sold" else 0,
        lead.now,
        answer=answer,
        lease=ports.outbox.fresh_lease,
        fields=lead.values,
    )


def _remembered(lead: LeadToSell) -> bool:
    """Whether the lead enters the dedup history: test leads never do."""
    return not lead.test and bool(lead.dedup_keys)


async def _last_sold(
    session: AsyncSession, snapshot: Snapshot, lead: LeadToSell
) -> Mapping[str, dt.datetime]:
    """The newest sale of this consumer (by phone/email keys) to each buyer: per-buyer
    dedup, read only if an order the lead may go to has a dedup window. Test leads have no
    dedup history."""
    quotes = (*lead.winners, *lead.ranking)
    if not _remembered(lead) or not any_dedupes(snapshot, (q.order_id for q in quotes)):
        return {}
    return await DedupRepository(session).last_sold(lead.dedup_keys)


def _drop(quote: Quote, dropped: set[str], notes: list[Candidate]) -> None:
    dropped.add(quote.order_id)
    notes.append(Candidate(quote.order_id, quote.buyer_id, Outcome.CAP, "cap reached at sale"))
