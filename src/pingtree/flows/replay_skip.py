"""The replay's shortcuts (``flows.whatif``): what a replay would give, told without
running the auction, and only when that is certain.

- :func:`stored_outcome`: a ping whose campaign, vertical, orders and buyers are as they
  were when it ran (``flows.replay_scope`` between its version and the one in force) is
  replayed as it was stored: the stored trace's winners and the campaign's decision on
  them. Not when a stored line says something the replay decides otherwise (caps the
  simulation finds otherwise, a refusal it never makes, a return rule's ranking).
- :func:`draft_cannot_change`: a ping whose vertical's changed orders could quote for it
  on neither side has the same auction on the draft as on the configuration in force
  (orders that do not quote take no part in the ranking, the draws or the decision).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pingtree.domain.auction import Selection, decide
from pingtree.domain.eligibility import LeadContext, check_standing
from pingtree.domain.filters import GATE_FIELD
from pingtree.domain.model import Leg, Order
from pingtree.domain.money import format_money
from pingtree.domain.outcomes import PRICED, Outcome
from pingtree.domain.trace import Candidate
from pingtree.flows.auction import AuctionResult, quote_from_json
from pingtree.flows.ports import BidResult
from pingtree.flows.replay import UNKNOWN, CapSimulation, Replayed, stored_answer
from pingtree.flows.requests import campaign_refusal
from pingtree.store.replay_pings import StoredPing
from pingtree.store.snapshot import Snapshot

__all__ = ["draft_cannot_change", "stored_outcome"]

#: lines settled before the cap check: the same whatever the cap room
_BEFORE_CAPS = frozenset(
    {Outcome.PAUSED, Outcome.TEST_MODE, Outcome.LEG, Outcome.SCHEDULE, Outcome.FILTER}
)
#: lines a replay never gives (it simulates no balance, return rate or dedup)
_NOT_REPLAYED = frozenset({Outcome.BALANCE, Outcome.RETURN_RATE, Outcome.DEDUP})
_FULL = frozenset({Outcome.CAP, Outcome.BUDGET})
_ZERO = Decimal(0)


def stored_outcome(snapshot: Snapshot, ping: StoredPing, caps: CapSimulation) -> Replayed | None:
    """``ping``'s replay on ``snapshot`` as its stored auction tells it, or ``None`` when
    it must be run. The caller has checked that the configuration the ping ran on reads
    its campaign as ``snapshot`` does; ``caps`` is checked, not charged."""
    auction = ping.auction
    rows: Sequence[Sequence[Any]] = auction.get("candidates") or ()
    if not rows or "walked" not in auction:  # refused before the auction, or re-ranked
        return None
    campaign = snapshot.config.campaigns.get(ping.campaign_id)
    if campaign is None or campaign_refusal(snapshot, campaign, "ping_post") is not None:
        return None
    orders, buyers = snapshot.config.orders, snapshot.config.buyers
    for row in rows:
        order = orders.get(row[0])
        outcome = Outcome(row[2])
        if order is None or outcome in _NOT_REPLAYED:
            return None
        if outcome in _BEFORE_CAPS:
            continue
        if order.caps or buyers[order.buyer_id].caps:
            if (caps.check(order, ping.created_at) is not None) != (outcome in _FULL):
                return None
        elif outcome in _FULL:
            return None
    ranking = tuple(quote_from_json(row) for row in auction.get("ranking") or ())
    by_id = {quote.order_id: quote for quote in ranking}
    winner_ids = auction.get("winners") or []
    if any(order_id not in by_id for order_id in winner_ids):
        return None
    winners = tuple(by_id[order_id] for order_id in winner_ids)
    leg = Leg(auction["leg"]) if auction.get("leg") and winners else None
    revenue = sum((quote.price for quote in winners), _ZERO)
    selection = Selection(leg, winners, ranking if winners else (), revenue)
    eligible = int(auction.get("eligible_buyers") or 0)
    decision = decide(campaign, selection, eligible)
    if format_money(decision.payout) != auction.get("payout", format_money(decision.payout)):
        return None
    result = AuctionResult((), ranking, selection, decision, eligible, snapshot.version)
    reasons = tuple(str(reason) for reason in decision.reasons)
    return Replayed(ping.id, campaign.id, ping.created_at, result, reasons)


def draft_cannot_change(
    order_ids: Iterable[str],
    snapshots: tuple[Snapshot, Snapshot],
    caps: tuple[CapSimulation, CapSimulation],
    vertical_id: str,
    lead: LeadContext,
    ping: StoredPing,
) -> bool:
    """Whether none of ``order_ids`` (the vertical's changed orders, and the orders of
    buyers whose caps parted) can quote for this lead otherwise on the draft than on the
    configuration in force: on both it quotes nothing, or the very same prices and rank
    and each side's cap room (``caps``, as they stand before this ping) has room for it or
    has none. A new order's unknown answer counts as a quote (replayed)."""
    rows: dict[str, Sequence[Any]] = {}
    if order_ids:
        rows = {row[0]: row for row in ping.auction.get("candidates") or ()}
    state = lead.values.get(GATE_FIELD)
    state_text = str(state) if state else None
    for order_id in order_ids:
        sides = []
        room = []
        for snapshot, simulation in zip(snapshots, caps, strict=True):
            order = snapshot.config.orders.get(order_id)
            if order is None or order.vertical_id != vertical_id:
                sides.append(_NONE)
                continue
            quotes = _quotes(snapshot, order, lead, state_text, rows, ping.auction.get("leg_bids"))
            if quotes is None:
                return False
            if quotes:
                room.append(simulation.check(order, lead.now) is None)
            sides.append(quotes)
        if sides[0] != sides[1] or (sides[0] and room[0] != room[1]):
            return False
    return True


_NONE: tuple[tuple[Any, ...], ...] = ()


def _quotes(
    snapshot: Snapshot,
    order: Order,
    lead: LeadContext,
    state: str | None,
    rows: dict[str, Sequence[Any]],
    ping_legs: Mapping[str, Mapping[str, str]] | None,
) -> tuple[tuple[Any, ...], ...] | None:
    """What ``order`` would quote for the lead (nothing when it may not), cap room taken
    as free; ``None`` when its answer is unknown."""
    buyer = snapshot.config.buyers.get(order.buyer_id)
    if buyer is None or check_standing(order, buyer, lead.test, lead.legs, lead.now):
        return _NONE
    if state is not None and order.state_gate is not None and state not in order.state_gate:
        return _NONE
    if order.filter is not None and not order.filter(lead.values, lead.qualify_all).passed:
        return _NONE
    answer: BidResult | None = None
    if order.pricing.asked_per_lead:
        row = rows.get(order.id)
        legs = (ping_legs or {}).get(order.id)
        answer = stored_answer(Candidate.from_json(row) if row else None, order, legs)
        if answer.reason == UNKNOWN:
            return None
        if answer.outcome not in PRICED or answer.price is None:
            return _NONE
    return tuple(
        (leg, price, order.buyer_id, order.priority, order.weight)
        for leg in sorted(lead.legs)
        if order.pricing.buys(leg)
        and (
            price := order.pricing.fixed_price(leg)
            or (answer.leg_price(leg) if answer is not None else None)
        )
    )
