"""Selling a persisted lead: the end of the post and of the direct post (DESIGN §2, §8.1).

re-check each winner on the full lead → fall back down the ranking for a winner that can no
longer take it → commit caps and record the sales, revenue, cost and profit in one
transaction, with an outbox row for each sale to post to its buyer → answer.

An order with no post step takes the lead at once (its buyer collects it): that sale is
``sold`` in the transaction. A sale to an order with a post step is ``pending`` until
``flows.deliver`` has posted it; the seller's answer then waits for the buyer's (with the
campaign's ``wait_for_delivery``, up to ``post_deadline_ms``, else ``pending``), or is
``accepted`` at once with the final outcome at ``GET /api/v1/leads/{id}``.

:func:`refill` is the waterfall: after a buyer rejected its post, the next bidders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingtree.domain.auction import (
    Quote,
    payout_for,
    realized_payout,
    sale_failures,
    split_payout,
)
from pingtree.domain.caps import CapCharge, charges_for
from pingtree.domain.eligibility import Ineligible, LeadContext, check_order
from pingtree.domain.model import Campaign, LeadValue
from pingtree.domain.money import format_money, from_cents, to_cents
from pingtree.domain.outcomes import Outcome, Reason
from pingtree.domain.trace import Candidate
from pingtree.flows.ports import Ports
from pingtree.flows.requests import new_id, rejected
from pingtree.store.dedup import DedupRepository
from pingtree.store.outbox import OutboxRepository
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Sale
from pingtree.store.traffic import LeadRepository, SaleRepository

__all__ = ["LeadToSell", "refill", "sell"]


@dataclass(frozen=True)
class LeadToSell:
    id: str
    values: Mapping[str, LeadValue]
    test: bool
    now: dt.datetime
    #: HMACs of the lead's phone numbers and emails
    dedup_keys: Sequence[str]
    #: the newest sale of this consumer to each buyer (``flows.intake.last_sold``)
    last_sold: Mapping[str, dt.datetime]
    #: the ranking of the chosen leg, winners first
    ranking: Sequence[Quote]
    winners: Sequence[Quote]
    #: the payout promised at the ping (a ceiling); ``None`` for a direct post
    quoted_payout: Decimal | None
    ping_id: str | None
    #: the auction to keep with the lead, to which the sale's own notes are added
    auction: Mapping[str, Any]


@dataclass(frozen=True)
class _Pick:
    quote: Quote
    charges: tuple[CapCharge, ...]


class _CapFull(Exception):
    def __init__(self, quote: Quote) -> None:
        self.quote = quote


async def sell(
    ports: Ports, snapshot: Snapshot, campaign: Campaign, lead: LeadToSell
) -> dict[str, Any]:
    placed = await _sell_places(
        ports, snapshot, campaign, lead, [], len(lead.winners), record_unsold=True
    )
    assert placed is not None  # an unsold lead is recorded as such
    sales, pending, payout = placed
    if not pending:
        return _final_answer(lead, sales, payout)
    if not campaign.wait_for_delivery:
        ports.outbox.dispatch(pending)
        return _accepted(lead)
    answer = ports.outbox.expect(lead.id)
    ports.outbox.dispatch(pending)
    return await ports.outbox.wait(lead.id, answer, campaign.post_deadline_ms / 1000)


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
    placed = await _sell_places(
        ports, snapshot, campaign, lead, notes, wanted, live, tried, record_unsold=False
    )
    return placed[1] if placed is not None else []


async def _sell_places(
    ports: Ports,
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadToSell,
    notes: list[Candidate],
    wanted: int,
    live: Sequence[Sale] = (),
    tried: frozenset[str] | set[str] = frozenset(),
    *,
    record_unsold: bool,
) -> tuple[list[Sale], list[str], Decimal] | None:
    """Sell up to ``wanted`` places beside the ``live`` sales, to orders of buyers not
    ``tried``, while the campaign's money rules hold; an order whose cap filled meanwhile
    is passed over. The new sales, the ids of those to post, and the payout. When nothing
    can be sold: the lead recorded unsold if ``record_unsold``, else ``None``."""
    dropped: set[str] = set()
    while True:
        picks = _pick(snapshot, campaign, lead, dropped, notes, set(tried), wanted)
        revenue = sum((from_cents(s.revenue_cents) for s in live), Decimal("0.00"))
        revenue += sum((p.quote.price for p in picks), Decimal("0.00"))
        payout = _payout(campaign, lead, revenue) if picks else None
        if payout is None:
            if not record_unsold:
                return None
            picks, payout = [], Decimal("0.00")
        try:
            sales, pending = await _record(
                ports, snapshot, campaign, lead, picks, payout, notes, live=live
            )
            return sales, pending, payout
        except _CapFull as full:
            dropped.add(full.quote.order_id)
            notes.append(
                Candidate(
                    full.quote.order_id, full.quote.buyer_id, Outcome.CAP, "cap reached at sale"
                )
            )


def _pick(
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadToSell,
    dropped: set[str],
    notes: list[Candidate],
    buyers_taken: set[str],
    wanted: int,
) -> list[_Pick]:
    """Up to ``wanted`` orders able to take the lead: the winners first, then down the
    ranking; one per buyer, none of ``buyers_taken``."""
    context = LeadContext(
        values=lead.values,
        test=lead.test,
        now=lead.now,
        qualify_all=campaign.ping_options.qualify_all_criteria,
        legs=frozenset(q.leg for q in lead.ranking),
    )
    picks: list[_Pick] = []
    noted = {n.order_id for n in notes}
    queue = [*lead.winners, *(q for q in lead.ranking if q not in lead.winners)]
    for quote in queue:
        if len(picks) == wanted:
            break
        if quote.order_id in dropped or quote.buyer_id in buyers_taken:
            continue
        problem = _recheck(snapshot, quote, context, lead.last_sold)
        if problem is not None:
            if quote.order_id not in noted:
                notes.append(
                    Candidate(quote.order_id, quote.buyer_id, problem.outcome, problem.reason)
                )
                noted.add(quote.order_id)
            continue
        order = snapshot.config.orders[quote.order_id]
        buyer = snapshot.config.buyers[order.buyer_id]
        charges = () if lead.test else charges_for(order, buyer, quote.price, lead.now)
        picks.append(_Pick(quote, charges))
        buyers_taken.add(quote.buyer_id)
    return picks


def _recheck(
    snapshot: Snapshot,
    quote: Quote,
    context: LeadContext,
    last_sold: Mapping[str, dt.datetime],
) -> Ineligible | None:
    """Can this order still take the lead? Its filters and dedup run on the full lead now;
    caps are checked by the atomic commit itself."""
    order = snapshot.config.orders.get(quote.order_id)
    buyer = snapshot.config.buyers.get(quote.buyer_id)
    if order is None or buyer is None:
        return Ineligible(Outcome.PAUSED, "order removed")
    return check_order(
        order,
        buyer,
        context,
        cap_check=lambda _order: None,
        dedup_check=last_sold.get,
    )


def _payout(campaign: Campaign, lead: LeadToSell, revenue: Decimal) -> Decimal | None:
    """The seller's payout on the revenue actually sold, or ``None`` if that would break the
    campaign's minimum profit rules (a fallback is made only if it still meets them)."""
    if lead.quoted_payout is None:
        payout = payout_for(campaign.payout_model, campaign.payout_value, revenue)
    else:
        payout = realized_payout(campaign, revenue, lead.quoted_payout)
    if sale_failures(campaign.ping_options, revenue, payout):
        return None
    return payout


async def _record(
    ports: Ports,
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadToSell,
    picks: Sequence[_Pick],
    payout: Decimal,
    notes: Sequence[Candidate],
    *,
    live: Sequence[Sale] = (),
) -> tuple[list[Sale], list[str]]:
    """One transaction: the new sales with their cap commits and outbox rows, the payout
    split again over ``live`` (the lead's earlier sales still standing) and the new ones,
    dedup history, and the lead's state. The new sales, and the ids of those to post."""
    deliveries = snapshot.config.deliveries
    prices = [from_cents(s.revenue_cents) for s in live] + [p.quote.price for p in picks]
    costs = split_payout(payout, prices) if prices else []
    sales = [
        Sale(
            id=new_id(),
            lead_id=lead.id,
            order_id=pick.quote.order_id,
            buyer_id=pick.quote.buyer_id,
            campaign_id=campaign.id,
            supplier_id=campaign.supplier_id,
            vertical_id=campaign.vertical_id,
            leg=str(pick.quote.leg),
            test=lead.test,
            status="pending" if pick.quote.order_id in deliveries else "sold",
            revenue_cents=to_cents(pick.quote.price),
            cost_cents=to_cents(cost),
            created_at=lead.now,
        )
        for pick, cost in zip(picks, costs[len(live) :], strict=True)
    ]
    pending = [sale.id for sale in sales if sale.status == "pending"]
    tokens: Mapping[str, str] = lead.auction.get("tokens", {})
    auction = {**lead.auction, "sale_notes": [n.to_json() for n in notes]}
    now = ports.clock.now()
    async with ports.sessions.begin() as session:
        for sale, cost in zip(live, costs, strict=False):
            await SaleRepository(session).set_cost(sale.id, to_cents(cost))
        # in buyer order, so concurrent sales lock the same counters in the same order
        for sale, pick in sorted(zip(sales, picks, strict=True), key=lambda sp: sp[0].buyer_id):
            session.add(sale)
            if pick.charges and not await ports.caps.commit(
                session, sale.id, lead.ping_id, pick.charges, lead.now
            ):
                raise _CapFull(pick.quote)
        outbox = OutboxRepository(session)
        for sale in sales:
            if sale.status == "pending":
                token = tokens.get(sale.order_id)
                outbox.add(sale.id, lead.id, sale.order_id, sale.buyer_id, token, now, _LEASE)
        if sales and not lead.test and lead.dedup_keys:
            dedup = DedupRepository(session)
            for buyer_id in sorted({s.buyer_id for s in sales}):
                await dedup.record(buyer_id, lead.dedup_keys, lead.id, lead.now)
        if live:
            await LeadRepository(session).note_auction(lead.id, auction)
        elif pending:
            answer = _accepted(lead) if campaign.wait_for_delivery is False else None
            await LeadRepository(session).finish(
                lead.id,
                status="pending",
                reasons=[],
                revenue_cents=0,
                cost_cents=0,
                answer=answer,
                auction=auction,
                now=lead.now,
            )
        else:
            answer = _final_answer(lead, sales, payout)
            await LeadRepository(session).finish(
                lead.id,
                status="sold" if sales else "unsold",
                reasons=answer.get("reasons", []),
                revenue_cents=sum(s.revenue_cents for s in sales),
                cost_cents=to_cents(payout) if sales else 0,
                answer=answer,
                auction=auction,
                now=lead.now,
            )
    for sale, pick in zip(sales, picks, strict=True):
        if pick.charges:
            await ports.caps.after_commit(sale.id, pick.charges)
    if lead.ping_id is not None and not live:
        await ports.caps.release(lead.ping_id, lead.now)
    return sales, pending


#: how long a new outbox row is left to the process that wrote it, before a worker may take
#: it (it is dispatched at once: only a crash leaves it to a worker)
_LEASE = dt.timedelta(seconds=30)


def _final_answer(lead: LeadToSell, sales: Sequence[Sale], payout: Decimal) -> dict[str, Any]:
    if sales:
        answer: dict[str, Any] = {
            "status": "sold",
            "lead_id": lead.id,
            "price": format_money(payout),
        }
    else:
        answer = rejected([Reason.ALL_BUYERS_DECLINED], lead_id=lead.id)
    if lead.test:
        answer["test"] = True
    return answer


def _accepted(lead: LeadToSell) -> dict[str, Any]:
    """The answer while the lead is being delivered, for a seller that does not wait."""
    answer: dict[str, Any] = {"status": "accepted", "lead_id": lead.id}
    if lead.test:
        answer["test"] = True
    return answer
