"""Who takes a lead at its sale (DESIGN §8.1, §8.2): the ping's winners, each re-checked on
the full lead (filters, dedup), then down the ranking for a winner that can no longer take
it; one order per buyer; and the seller's payout on what is actually sold, only while the
campaign's money rules hold. Pure: the sale's transaction (``flows.sell``) commits what
these choose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingtree.domain.auction import Quote, payout_for, realized_payout, sale_failures
from pingtree.domain.campaigns import Campaign
from pingtree.domain.caps import CapCharge, charges_for
from pingtree.domain.eligibility import Ineligible, LeadContext, check_order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.trace import Candidate
from pingtree.domain.verticals import LeadValue
from pingtree.store.snapshot import Snapshot

__all__ = [
    "LeadToSell",
    "Pick",
    "any_dedupes",
    "charges_of",
    "held_nothing",
    "pick_orders",
    "seller_payout",
]


@dataclass(frozen=True)
class LeadToSell:
    """A lead at its sale: its values and the auction that priced it."""

    id: str
    values: Mapping[str, LeadValue]
    test: bool
    now: dt.datetime
    #: HMACs of the lead's phone numbers and emails
    dedup_keys: Sequence[str]
    #: the ranking of the chosen leg, winners first
    ranking: Sequence[Quote]
    winners: Sequence[Quote]
    #: the payout promised at the ping (a ceiling); ``None`` for a direct post
    quoted_payout: Decimal | None
    ping_id: str | None
    #: the auction to keep with the lead, to which the sale's own notes are added
    auction: Mapping[str, Any]


@dataclass(frozen=True)
class Pick:
    """An order chosen to take the lead, with the cap charges its sale commits."""

    quote: Quote
    charges: tuple[CapCharge, ...]


def held_nothing(snapshot: Snapshot, lead: LeadToSell) -> bool:
    """Whether the lead's ping held no cap room: none of its winners' orders has a cap or
    a budget (holds of a configuration changed since expire by themselves)."""
    return not any(
        charges_of(snapshot, q.order_id, q.buyer_id, q.price, lead.now) for q in lead.winners
    )


def charges_of(
    snapshot: Snapshot, order_id: str, buyer_id: str, price: Decimal, at: dt.datetime
) -> tuple[CapCharge, ...]:
    """What a sale at ``price`` charges its order's caps and its buyer's budgets, in the
    windows of ``at``; none when the order or the buyer is gone."""
    order = snapshot.config.orders.get(order_id)
    buyer = snapshot.config.buyers.get(buyer_id)
    if order is None or buyer is None:
        return ()
    return tuple(charges_for(order, buyer, price, at))


def pick_orders(
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadToSell,
    last_sold: Mapping[str, dt.datetime],
    dropped: set[str],
    notes: list[Candidate],
    buyers_taken: set[str],
    wanted: int,
) -> list[Pick]:
    """Up to ``wanted`` orders able to take the lead: the winners first, then down the
    ranking; one per buyer, none of ``buyers_taken``."""
    context = LeadContext(
        values=lead.values,
        test=lead.test,
        now=lead.now,
        qualify_all=campaign.ping_options.qualify_all_criteria,
        legs=frozenset(q.leg for q in lead.ranking),
    )
    picks: list[Pick] = []
    noted = {n.order_id for n in notes}
    queue = [*lead.winners, *(q for q in lead.ranking if q not in lead.winners)]
    for quote in queue:
        if len(picks) == wanted:
            break
        if quote.order_id in dropped or quote.buyer_id in buyers_taken:
            continue
        problem = _recheck(snapshot, quote, context, last_sold)
        if problem is not None:
            if quote.order_id not in noted:
                notes.append(
                    Candidate(quote.order_id, quote.buyer_id, problem.outcome, problem.reason)
                )
                noted.add(quote.order_id)
            continue
        charges = (
            ()
            if lead.test
            else charges_of(snapshot, quote.order_id, quote.buyer_id, quote.price, lead.now)
        )
        picks.append(Pick(quote, charges))
        buyers_taken.add(quote.buyer_id)
    return picks


def any_dedupes(snapshot: Snapshot, order_ids: Iterable[str]) -> bool:
    """Whether any of these orders keeps its buyer from buying a consumer again within a
    window (``dedup_days``): if none does, the consumer's sales history is not needed."""
    orders = snapshot.config.orders
    return any(
        (order := orders.get(order_id)) is not None and order.dedup_days > 0
        for order_id in order_ids
    )


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


def seller_payout(campaign: Campaign, lead: LeadToSell, revenue: Decimal) -> Decimal | None:
    """The seller's payout on the revenue actually sold, or ``None`` if that would break the
    campaign's minimum profit rules (a fallback is made only if it still meets them)."""
    if lead.quoted_payout is None:
        payout = payout_for(campaign.payout_model, campaign.payout_value, revenue)
    else:
        payout = realized_payout(campaign, revenue, lead.quoted_payout)
    if sale_failures(campaign.ping_options, revenue, payout):
        return None
    return payout
