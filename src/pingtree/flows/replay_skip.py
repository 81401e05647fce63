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

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

from pingtree.domain.auction import Selection, decide
from pingtree.domain.eligibility import LeadContext, check_standing, legs_offered
from pingtree.domain.filter_gates import GATE_FIELD
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
    ping: StoredPing,
    lead_of: Callable[[], LeadContext | Replayed],
    *,
    stored_is_base: bool = False,
    same_eligibility: AbstractSet[str] = frozenset(),
) -> bool:
    """Whether none of ``order_ids`` (the vertical's changed orders, and the orders of
    buyers whose caps parted) can quote for this ping otherwise on the draft than on the
    configuration in force: on both it quotes nothing, or the very same prices and rank
    and each side's cap room (``caps``, as they stand before this ping) has room for it or
    has none. A new order's unknown answer counts as a quote (replayed).

    An order whose eligibility reads the same on both sides (``same_eligibility``) is
    judged by its stored line when the ping ran on the configuration in force
    (``stored_is_base``): a filter or schedule line holds on both, any later line means
    both may take it. Otherwise the lead is read (``lead_of``, the ping's campaign and
    lead, or its replay when refused before any buyer: then nothing can change)."""
    auction = ping.auction
    rows = {row[0]: row for row in auction.get("candidates") or ()}
    leg_bids: Mapping[str, Mapping[str, str]] = auction.get("leg_bids") or {}
    lead: LeadContext | None = None
    for order_id in order_ids:
        orders = [snapshot.config.orders.get(order_id) for snapshot in snapshots]
        row = rows.get(order_id)
        known = (
            stored_is_base
            and row is not None
            and order_id in same_eligibility
            and orders[0] is not None
            and orders[1] is not None
            and _legs_bought(orders[0]) == _legs_bought(orders[1])
            and row[2] not in _NOT_REPLAYED_TEXT
        )
        if known and row is not None and row[2] in _BEFORE_CAPS_TEXT:
            continue  # may take it on neither side
        sides = []
        room = []
        for snapshot, simulation, order in zip(snapshots, caps, orders, strict=True):
            if order is None:
                sides.append(_NONE)
                continue
            if not known:
                if lead is None:
                    found = lead_of()
                    if isinstance(found, Replayed):
                        return True  # refused before any buyer, on both sides
                    lead = found
                if order.vertical_id != _lead_vertical(snapshot, ping) or not _eligible(
                    snapshot, order, lead
                ):
                    sides.append(_NONE)
                    continue
            quotes = _priced(order, _legs_offered_to(snapshot, ping), rows, leg_bids)
            if quotes is None:
                return False
            if quotes:
                room.append(simulation.check(order, ping.created_at) is None)
            sides.append(quotes)
        if sides[0] != sides[1] or (sides[0] and room[0] != room[1]):
            return False
    return True


_NONE: tuple[tuple[Any, ...], ...] = ()
_BEFORE_CAPS_TEXT = frozenset(str(outcome) for outcome in _BEFORE_CAPS)
_NOT_REPLAYED_TEXT = frozenset(str(outcome) for outcome in _NOT_REPLAYED)


def _lead_vertical(snapshot: Snapshot, ping: StoredPing) -> str | None:
    campaign = snapshot.config.campaigns.get(ping.campaign_id)
    return campaign.vertical_id if campaign else None


def _legs_offered_to(snapshot: Snapshot, ping: StoredPing) -> frozenset[Leg]:
    campaign = snapshot.config.campaigns.get(ping.campaign_id)
    return legs_offered(campaign.max_sells if campaign else 1)


def _legs_bought(order: Order) -> frozenset[Leg]:
    return frozenset(leg for leg in Leg if order.pricing.buys(leg))


def _eligible(snapshot: Snapshot, order: Order, lead: LeadContext) -> bool:
    """Whether ``order`` may take the lead, cap room taken as free."""
    buyer = snapshot.config.buyers.get(order.buyer_id)
    if buyer is None or check_standing(order, buyer, lead.test, lead.legs, lead.now):
        return False
    state = lead.values.get(GATE_FIELD)
    if state and order.state_gate is not None and str(state) not in order.state_gate:
        return False
    return order.filter is None or order.filter(lead.values, lead.qualify_all).passed


def _priced(
    order: Order,
    legs: frozenset[Leg],
    rows: Mapping[str, Sequence[Any]],
    leg_bids: Mapping[str, Mapping[str, str]],
) -> tuple[tuple[Any, ...], ...] | None:
    """What an eligible ``order`` would quote; ``None`` when its answer is unknown."""
    answer: BidResult | None = None
    if order.pricing.asked_per_lead:
        row = rows.get(order.id)
        line = Candidate.from_json(row) if row else None
        answer = stored_answer(line, order, leg_bids.get(order.id))
        if answer.reason == UNKNOWN:
            return None
        if answer.outcome not in PRICED or answer.price is None:
            return _NONE
    return tuple(
        (leg, price, order.buyer_id, order.priority, order.weight)
        for leg in sorted(legs)
        if order.pricing.buys(leg)
        and (
            price := order.pricing.fixed_price(leg)
            or (answer.leg_price(leg) if answer is not None else None)
        )
    )
