"""Selling a persisted lead: the end of the post and of the direct post (DESIGN §2, §8.1).

re-check each winner on the full lead → fall back down the ranking for a winner that can no
longer take it → commit caps and record the sales, revenue, cost and profit in one
transaction → answer ``sold`` or ``rejected``.

Orders with no delivery step take the lead at once (the buyer collects it); outbound HTTP
delivery plugs in at :func:`_take`.
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
from pingtree.domain.money import format_money, to_cents
from pingtree.domain.outcomes import Outcome, Reason
from pingtree.domain.trace import Candidate
from pingtree.flows.ports import Ports
from pingtree.flows.requests import new_id, rejected
from pingtree.store.dedup import DedupRepository
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Sale
from pingtree.store.traffic import LeadRepository

__all__ = ["LeadToSell", "sell"]


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
    notes: list[Candidate] = []
    dropped: set[str] = set()
    while True:
        picks = _pick(snapshot, campaign, lead, dropped, notes)
        payout = _payout(campaign, lead, picks)
        if payout is None:
            picks, payout = [], Decimal("0.00")
        try:
            return await _record(ports, campaign, lead, picks, payout, notes)
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
) -> list[_Pick]:
    """The winners still able to take the lead, topped up down the ranking (one per buyer)."""
    context = LeadContext(
        values=lead.values,
        test=lead.test,
        now=lead.now,
        qualify_all=campaign.ping_options.qualify_all_criteria,
        legs=frozenset(q.leg for q in lead.ranking),
    )
    picks: list[_Pick] = []
    buyers_taken: set[str] = set()
    noted = {n.order_id for n in notes}
    queue = [*lead.winners, *(q for q in lead.ranking if q not in lead.winners)]
    for quote in queue:
        if len(picks) == len(lead.winners):
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


def _payout(campaign: Campaign, lead: LeadToSell, picks: Sequence[_Pick]) -> Decimal | None:
    """The seller's payout on what is actually sold, or ``None`` if that would break the
    campaign's minimum profit rules (a fallback is made only if it still meets them)."""
    if not picks:
        return None
    revenue = sum((p.quote.price for p in picks), Decimal("0.00"))
    if lead.quoted_payout is None:
        payout = payout_for(campaign.payout_model, campaign.payout_value, revenue)
    else:
        payout = realized_payout(campaign, revenue, lead.quoted_payout)
    if sale_failures(campaign.ping_options, revenue, payout):
        return None
    return payout


async def _record(
    ports: Ports,
    campaign: Campaign,
    lead: LeadToSell,
    picks: Sequence[_Pick],
    payout: Decimal,
    notes: Sequence[Candidate],
) -> dict[str, Any]:
    """One transaction: the sales, their cap commits, dedup history and the lead's answer."""
    costs = split_payout(payout, [p.quote.price for p in picks]) if picks else []
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
            revenue_cents=to_cents(pick.quote.price),
            cost_cents=to_cents(cost),
            created_at=lead.now,
        )
        for pick, cost in zip(picks, costs, strict=True)
    ]
    revenue = sum((p.quote.price for p in picks), Decimal("0.00"))
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
    auction = {**lead.auction, "sale_notes": [n.to_json() for n in notes]}
    async with ports.sessions.begin() as session:
        # in buyer order, so concurrent sales lock the same counters in the same order
        for sale, pick in sorted(zip(sales, picks, strict=True), key=lambda sp: sp[0].buyer_id):
            session.add(sale)
            if pick.charges and not await ports.caps.commit(
                session, sale.id, lead.ping_id, pick.charges, lead.now
            ):
                raise _CapFull(pick.quote)
        if sales and not lead.test and lead.dedup_keys:
            dedup = DedupRepository(session)
            for buyer_id in sorted({s.buyer_id for s in sales}):
                await dedup.record(buyer_id, lead.dedup_keys, lead.id, lead.now)
        await LeadRepository(session).finish(
            lead.id,
            status="sold" if sales else "unsold",
            reasons=answer.get("reasons", []),
            revenue_cents=to_cents(revenue),
            cost_cents=to_cents(payout) if sales else 0,
            answer=answer,
            auction=auction,
            now=lead.now,
        )
    for sale, pick in zip(sales, picks, strict=True):
        if pick.charges:
            await ports.caps.after_commit(sale.id, pick.charges)
    if lead.ping_id is not None:
        await ports.caps.release(lead.ping_id, lead.now)
    return answer
