"""One auction: scan → price → rank → select → ping options (DESIGN §2).

Shared by the ping and the direct post. Every candidate order ends with exactly one
:class:`Outcome`; the result is kept as the lead's trace.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pingtree.delivery.compiled import CompiledDelivery
from pingtree.domain.auction import Decision, Quote, Selection, decide, select
from pingtree.domain.campaigns import Campaign
from pingtree.domain.eligibility import (
    CapCheck,
    DedupCheck,
    Ineligible,
    LeadContext,
    check_lead,
)
from pingtree.domain.fields import values_to_json
from pingtree.domain.filter_gates import GATE_FIELD
from pingtree.domain.money import format_money
from pingtree.domain.order_index import Walk, walk
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import PRICED, Outcome
from pingtree.domain.return_rules import Breach
from pingtree.domain.trace import Candidate, money_text
from pingtree.flows.ports import BidSource
from pingtree.store.snapshot import Snapshot

__all__ = ["FALLBACK_BUYERS", "AuctionResult", "quote_from_json", "run_auction"]


@dataclass(frozen=True)
class AuctionResult:
    candidates: tuple[Candidate, ...]
    quotes: tuple[Quote, ...]
    selection: Selection
    decision: Decision
    eligible_buyers: int
    snapshot_version: int
    #: the buyers' own ids for their bids (sent back in the post), by order id
    tokens: Mapping[str, str] = field(default_factory=dict)
    #: set when the candidates are the orders a best-first walk met, not all of them: what
    #: ``flows.trace`` rebuilds the others' lines from
    walked: Mapping[str, Any] | None = None
    #: a multi-leg bidder's price of each leg kept, by order id then leg (its line keeps
    #: the best): what a replay quotes each leg at again
    leg_bids: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def without(
        self, order_ids: set[str], outcome: Outcome, reason: str, campaign: Campaign, seed: str
    ) -> AuctionResult:
        """The same auction with these orders dropped (they lost a cap race): re-select
        from the quotes already collected, without asking any buyer again."""
        quotes = tuple(q for q in self.quotes if q.order_id not in order_ids)
        candidates = tuple(
            replace(c, outcome=outcome, reason=reason) if c.order_id in order_ids else c
            for c in self.candidates
        )
        selection = select(quotes, campaign.max_sells, campaign.rank_by, seed)
        eligible_buyers = len({q.buyer_id for q in quotes})
        return AuctionResult(
            candidates=candidates,
            quotes=quotes,
            selection=selection,
            decision=decide(campaign, selection, eligible_buyers),
            eligible_buyers=eligible_buyers,
            snapshot_version=self.snapshot_version,
            tokens=self.tokens,
            walked=self.walked,
            leg_bids=self.leg_bids,
        )

    def to_json(self) -> dict[str, Any]:
        walked = {"walked": dict(self.walked)} if self.walked is not None else {}
        legs = {"leg_bids": {k: dict(v) for k, v in self.leg_bids.items()}} if self.leg_bids else {}
        return {
            **walked,
            **legs,
            "snapshot_version": self.snapshot_version,
            "candidates": [c.to_json() for c in self.candidates],
            "leg": str(self.selection.leg) if self.selection.leg else None,
            "ranking": [_quote_json(q) for q in self.selection.ranking],
            "winners": [q.order_id for q in self.selection.winners],
            "revenue": format_money(self.decision.revenue),
            "payout": format_money(self.decision.payout),
            "eligible_buyers": self.eligible_buyers,
            "tokens": dict(self.tokens),
        }


def _quote_json(quote: Quote) -> list[Any]:
    return [
        quote.order_id,
        quote.buyer_id,
        str(quote.leg),
        money_text(quote.price),
        quote.priority,
        quote.weight,
    ]


def quote_from_json(row: Sequence[Any]) -> Quote:
    order_id, buyer_id, leg, price, priority, weight = row
    return Quote(order_id, buyer_id, Leg(leg), Decimal(price), priority, weight)


#: fallback depth: how many buyers past the winners (and the campaign's minimum number of
#: buyers) the best-first walk makes certain of before it stops
FALLBACK_BUYERS = 20


async def run_auction(
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadContext,
    *,
    seed: str,
    cap_check: CapCheck,
    bids: BidSource,
    deadline: float,
    dedup_check: DedupCheck | None = None,
    excluded: frozenset[str] = frozenset(),
    demotions: Mapping[str, Breach] | None = None,
    walk_depth: int | None = FALLBACK_BUYERS,
) -> AuctionResult:
    """Find the orders of the campaign's vertical that may take the lead, price them, pick
    winners.

    The orders are walked best first on the snapshot's index (``domain.order_index``) until
    the winners, the ping options and ``walk_depth`` buyers of fallback are certain; the
    trace then holds the orders met, and the rest are told on reading (``flows.trace``).
    ``walk_depth=None``, or ``demotions`` (which re-rank buyers per ping), scan every order
    instead and trace each. Both give the same winners and decision.

    ``excluded`` order ids take no part (used to re-select after a lost cap race).
    ``deadline`` is a ``time.monotonic()`` instant bounding the live-bid fan-out.
    ``demotions``: buyers a return rule ranks lower now (their orders' priority number
    raised by the rule's ``demote_by``, said in the trace).
    """
    state = lead.values.get(GATE_FIELD)
    state_text = str(state) if state else None
    walked: dict[str, Any] | None = None
    if demotions or walk_depth is None:
        found = _scan_all(snapshot, campaign, lead, state_text, cap_check, dedup_check, excluded)
    else:

        def admit(order: Order) -> Ineligible | None:
            return check_lead(order, lead, cap_check, dedup_check)

        options = campaign.ping_options
        found = walk(
            snapshot.order_index(campaign.vertical_id, lead.test),
            lead,
            campaign.rank_by,
            max(options.min_buyers, campaign.max_sells) + walk_depth,
            snapshot.schedules(lead.now),
            admit,
            excluded,
        )
        walked = _walk_context(snapshot, campaign, lead)
    quotes, candidates = found.quotes, found.candidates
    tokens: dict[str, str] = {}
    leg_bids: dict[str, dict[str, str]] = {}
    accept_only: set[str] = set()
    if found.to_ping:
        live = await _live_bids(
            found.to_ping,
            lead,
            bids,
            deadline,
            quotes,
            (tokens, leg_bids),
            snapshot.config.deliveries,
        )
        candidates.extend(live)
        accept_only.update(c.order_id for c in live if c.outcome is Outcome.FIXED)
    if demotions:
        quotes, candidates = _demote(quotes, candidates, demotions)
    selection = select(quotes, campaign.max_sells, campaign.rank_by, seed)
    if accept_only & {q.order_id for q in selection.winners}:
        candidates = _sold_leg_prices(candidates, selection, accept_only)
    eligible_buyers = len({q.buyer_id for q in quotes})
    return AuctionResult(
        candidates=tuple(candidates),
        quotes=tuple(quotes),
        selection=selection,
        decision=decide(campaign, selection, eligible_buyers),
        eligible_buyers=eligible_buyers,
        snapshot_version=snapshot.version,
        tokens=tokens,
        walked=walked,
        leg_bids=leg_bids,
    )


def _scan_all(
    snapshot: Snapshot,
    campaign: Campaign,
    lead: LeadContext,
    state: str | None,
    cap_check: CapCheck,
    dedup_check: DedupCheck | None,
    excluded: frozenset[str],
) -> Walk:
    """Every order of the vertical checked, each with its trace line."""
    found = Walk()
    scan = snapshot.scan(campaign.vertical_id, lead.test, lead.legs, lead.now, state)
    found.candidates.extend(c for c in scan.settled if c.order_id not in excluded)
    for standing in scan.evaluate:
        order = standing.order
        if order.id in excluded:
            continue
        ineligible = check_lead(order, lead, cap_check, dedup_check)
        if ineligible is not None:
            found.candidates.append(
                Candidate(order.id, order.buyer_id, ineligible.outcome, ineligible.reason)
            )
        elif standing.priced is not None:
            found.quotes.extend(standing.quotes)
            found.candidates.append(standing.priced)
        else:
            found.to_ping.append(order)
    return found


def _walk_context(snapshot: Snapshot, campaign: Campaign, lead: LeadContext) -> dict[str, Any]:
    """What rebuilds the lines of the orders a walk did not meet: the lead's fields
    (without PII, which a trace never holds), its test mode, legs, moment and rule."""
    vertical = snapshot.config.verticals.get(campaign.vertical_id)
    pii = {spec.name for spec in vertical.fields if spec.pii} if vertical else set()
    return {
        "vertical": campaign.vertical_id,
        "at": lead.now.isoformat(),
        "test": lead.test,
        "legs": sorted(str(leg) for leg in lead.legs),
        "qualify_all": lead.qualify_all,
        "fields": values_to_json({k: v for k, v in lead.values.items() if k not in pii}),
    }


def _demote(
    quotes: list[Quote], candidates: list[Candidate], demotions: Mapping[str, Breach]
) -> tuple[list[Quote], list[Candidate]]:
    """The demoted buyers' quotes ranked lower, their priced lines saying why."""
    quotes = [
        replace(q, priority=q.priority + demotions[q.buyer_id].rule.demote_by)
        if q.buyer_id in demotions
        else q
        for q in quotes
    ]
    noted = []
    for candidate in candidates:
        found = demotions.get(candidate.buyer_id)
        if found is not None and candidate.outcome in PRICED:
            why = f"ranked {found.rule.demote_by} lower: {found.describe()}"
            reason = f"{candidate.reason}; {why}" if candidate.reason else why
            candidate = replace(candidate, reason=reason)
        noted.append(candidate)
    return quotes, noted


def _sold_leg_prices(
    candidates: list[Candidate], selection: Selection, accept_only: set[str]
) -> list[Candidate]:
    """An accepted accept-only order that won: its line reads the price of the leg sold,
    not its highest fixed price."""
    won = {q.order_id: q.price for q in selection.winners if q.order_id in accept_only}
    return [
        replace(c, price=won[c.order_id]) if c.order_id in won and c.outcome is Outcome.FIXED else c
        for c in candidates
    ]


async def _live_bids(
    orders: list[Order],
    lead: LeadContext,
    bids: BidSource,
    deadline: float,
    quotes: list[Quote],
    kept: tuple[dict[str, str], dict[str, dict[str, str]]],
    deliveries: Mapping[str, CompiledDelivery],
) -> list[Candidate]:
    """Ask the orders for their prices; fills ``quotes`` and ``kept``: the buyers' tokens
    and a multi-leg bidder's price of each leg, by order id."""
    tokens, leg_bids = kept
    by_id = {order.id: order for order in orders}
    started = time.monotonic()
    results = await bids.collect(orders, lead.values, deadline, deliveries)
    candidates = []
    answered = set()
    for result in results:
        order = by_id[result.order_id]
        answered.add(order.id)
        shown = result.price
        if result.outcome is Outcome.FIXED and result.price is not None:
            # an accept-only ping said yes: its line reads the order's best price of the
            # legs on offer, as a fixed order's line does, not its highest of every leg
            legs = (order.pricing.fixed_price(leg) for leg in lead.legs)
            on_offer = [price for price in legs if price is not None]
            shown = max(on_offer, default=result.price)
        candidates.append(
            Candidate(
                order.id,
                order.buyer_id,
                result.outcome,
                result.reason,
                shown,
                result.latency_ms,
            )
        )
        if result.token:
            tokens[order.id] = result.token
        if result.leg_prices is not None and result.outcome in PRICED:
            leg_bids[order.id] = {str(leg): money_text(p) for leg, p in result.leg_prices.items()}
        if result.outcome in PRICED and result.price is not None:
            # each leg at its own price: a fixed-price order's whose accept-only ping
            # accepted, a multi-leg bidder's own per leg (DESIGN §8.1 then compares them)
            quotes.extend(
                Quote(order.id, order.buyer_id, leg, price, order.priority, order.weight)
                for leg in sorted(lead.legs)
                if order.pricing.buys(leg)
                and (price := order.pricing.fixed_price(leg) or result.leg_price(leg))
            )
    waited = int((time.monotonic() - started) * 1000)
    # a bid source must answer for every order; one that did not is a timeout, not a silence
    candidates.extend(
        Candidate(order.id, order.buyer_id, Outcome.TIMEOUT, "no answer", latency_ms=waited)
        for order in orders
        if order.id not in answered
    )
    return candidates
