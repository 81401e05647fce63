"""The replay's shortcuts on the draft's side (``flows.whatif``): what a replay would
give, told without running the auction, and only when that is certain. (The side of the
configuration in force is told from the stored auction, ``flows.replay_told``.)

- :class:`DraftSides`: a ping whose vertical's changed orders could quote for it on
  neither side has the same auction on the draft as on the configuration in force
  (orders that do not quote take no part in the ranking, the draws or the decision).
- :func:`reselected`: when they quote otherwise, the draft's winners and money are the
  selection made again from the stored quotes, theirs replaced (a one-leg auction whose
  stored ranking holds every quote).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from pingtree.domain.auction import Quote, decide, select
from pingtree.domain.eligibility import LeadContext, check_standing, legs_offered
from pingtree.domain.filter_gates import GATE_FIELD
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import PRICED
from pingtree.domain.trace import Candidate
from pingtree.flows.auction import FALLBACK_BUYERS, AuctionResult
from pingtree.flows.ports import BidResult
from pingtree.flows.replay import UNKNOWN, CapSimulation, Replayed, stored_answer
from pingtree.flows.replay_told import (
    BEFORE_CAPS_TEXT,
    FULL_TEXT,
    KEPT,
    NOT_REPLAYED_TEXT,
)
from pingtree.store.replay_pings import StoredPing
from pingtree.store.snapshot import Snapshot

__all__ = ["DraftSide", "DraftSides", "reselected"]

#: how many bid orders' quotes :class:`DraftSides` keeps before it starts again
_KEPT = KEPT


@dataclass(frozen=True, slots=True)
class DraftSide:
    """What the vertical's changed orders quote for one ping on each side."""

    #: the draft's auction is the configuration in force's: on both, each changed order
    #: quotes nothing, or the very same prices and rank with the same cap room
    same: bool
    #: the changed orders met (a stored filter or schedule line on both sides is not)
    met: frozenset[str]
    #: their quotes the draft's auction would rank (none where its caps leave no room)
    quotes: tuple[Quote, ...]


class DraftSides:
    """Judges, ping by ping, what the draft's changed orders quote on each side (one a
    replay: the compiled orders' constant parts are read once)."""

    def __init__(
        self,
        snapshots: tuple[Snapshot, Snapshot],
        caps: tuple[CapSimulation, CapSimulation],
        same_eligibility: AbstractSet[str] = frozenset(),
        drafted: AbstractSet[str] | None = None,
    ) -> None:
        self._snapshots, self._caps = snapshots, caps
        base, draft = (snapshot.config.orders for snapshot in snapshots)
        self._draft_orders = draft
        #: the orders the draft changes (or whose buyer it changes); the others are the
        #: same on both sides, but for their cap room once their buyers' sales part
        self._drafted = frozenset(base.keys() | draft.keys()) if drafted is None else drafted
        #: orders whose stored line tells their eligibility on both sides: the same
        #: eligibility, and the same legs bought
        self._by_line = frozenset(
            order_id
            for order_id in same_eligibility
            if order_id in base
            and order_id in draft
            and _legs_bought(base[order_id]) == _legs_bought(draft[order_id])
        )
        #: a fixed-price order's quotes on one side, by side, order and legs on offer
        self._fixed: dict[tuple[int, str, frozenset[Leg]], tuple[Quote, ...]] = {}
        #: a bid order's quotes on one side by its stored answer (``None``: unknown)
        self._asked: dict[tuple[Any, ...], tuple[Quote, ...] | None] = {}
        #: the legs each side offers a campaign's pings
        self._legs: dict[str, list[frozenset[Leg]]] = {}

    def side(
        self,
        order_ids: Iterable[str],
        ping: StoredPing,
        lead_of: Callable[[], LeadContext | Replayed],
        *,
        stored_is_base: bool = False,
    ) -> DraftSide | None:
        """What ``order_ids`` (the vertical's changed orders, and the orders of buyers
        whose caps parted) quote for this ping on the configuration in force and on the
        draft; ``None`` when one's answer is unknown (a new order's unknown answer is
        replayed). ``same`` when on both it quotes nothing, or the very same prices and
        rank and each side's cap room (the simulations as they stand before this ping) has
        room for it or has none.

        An order whose eligibility reads the same on both sides (``same_eligibility``) is
        judged by its stored line when the ping ran on the configuration in force
        (``stored_is_base``): a filter or schedule line holds on both, any later line
        means both may take it. Otherwise the lead is read (``lead_of``, the ping's
        campaign and lead, or its replay when refused before any buyer: then nothing can
        change)."""
        auction = ping.auction
        rows = {row[0]: row for row in auction.get("candidates") or ()}
        leg_bids: Mapping[str, Mapping[str, str]] = auction.get("leg_bids") or {}
        legs = self._legs.get(ping.campaign_id)
        if legs is None:
            legs = self._legs[ping.campaign_id] = [
                _legs_offered_to(snapshot, ping) for snapshot in self._snapshots
            ]
        lead: LeadContext | None = None
        same = True
        met: set[str] = set()
        quoted: list[Quote] = []
        for order_id in order_ids:
            row = rows.get(order_id)
            known = (
                stored_is_base
                and row is not None
                and order_id in self._by_line
                and row[2] not in NOT_REPLAYED_TEXT
            )
            if known and row is not None and row[2] in BEFORE_CAPS_TEXT:
                continue  # may take it on neither side
            if known and row is not None and order_id not in self._drafted:
                # the same order on both sides, told by its line on the configuration in
                # force: only the draft's cap room may differ
                draft_room = (
                    self._caps[1].check(self._draft_orders[order_id], ping.created_at) is None
                )
                if row[2] in _PRICED_TEXT:  # with room there
                    if not draft_room:
                        met.add(order_id)  # its quotes taken out
                        same = False
                    continue
                if row[2] in FULL_TEXT and not draft_room:
                    continue  # full on both
            met.add(order_id)
            sides: list[tuple[Quote, ...]] = []
            room = []
            for i, (snapshot, simulation) in enumerate(
                zip(self._snapshots, self._caps, strict=True)
            ):
                order = snapshot.config.orders.get(order_id)
                if order is None:
                    sides.append(_NONE)
                    continue
                if not known:
                    if lead is None:
                        found = lead_of()
                        if isinstance(found, Replayed):
                            return _NOTHING  # refused before any buyer, on both sides
                        lead = found
                    if order.vertical_id != _lead_vertical(snapshot, ping) or not _eligible(
                        snapshot, order, lead
                    ):
                        sides.append(_NONE)
                        continue
                if order.pricing.asked_per_lead:
                    bids = leg_bids.get(order_id)
                    asked = (
                        i,
                        order_id,
                        legs[i],
                        None if row is None else tuple(row),
                        None if bids is None else tuple(bids.items()),
                    )
                    if asked in self._asked:
                        quotes = self._asked[asked]
                    else:
                        if len(self._asked) > _KEPT:
                            self._asked.clear()
                        quotes = self._asked[asked] = _priced(order, legs[i], rows, leg_bids)
                    if quotes is None:
                        return None
                else:
                    key = (i, order_id, legs[i])
                    quotes = self._fixed.get(key)
                    if quotes is None:
                        quotes = self._fixed[key] = _priced(order, legs[i], rows, leg_bids) or ()
                if quotes:
                    room.append(simulation.check(order, ping.created_at) is None)
                sides.append(quotes)
            if sides[0] != sides[1] or (sides[0] and room[0] != room[1]):
                same = False
            if sides[1] and room[-1]:
                quoted.extend(sides[1])
        return DraftSide(same, frozenset(met), tuple(quoted))


def reselected(
    draft: Snapshot, before: Replayed, ranking: Sequence[Quote], side: DraftSide
) -> Replayed | None:
    """The draft's replay of a ping whose replay on the configuration in force was told
    from its stored auction (``before``, ranking ``ranking``), when only the changed orders
    ``side`` met quote otherwise: the selection made again from the same quotes, theirs
    replaced. Money only (no trace lines); ``None`` when the stored ranking may not hold
    every quote (several legs, or a walk that stopped early: ``flows.auction``'s walk
    stops once it holds enough buyers)."""
    campaign = draft.config.campaigns.get(before.campaign_id)
    if campaign is None or campaign.max_sells != 1 or before.result is None:
        return None
    wanted = max(campaign.ping_options.min_buyers, campaign.max_sells) + FALLBACK_BUYERS
    if len({quote.buyer_id for quote in ranking}) >= wanted:
        return None
    quotes = [quote for quote in ranking if quote.order_id not in side.met]
    quotes.extend(side.quotes)
    selection = select(quotes, campaign.max_sells, campaign.rank_by, before.ping_id)
    eligible = len({quote.buyer_id for quote in quotes})
    decision = decide(campaign, selection, eligible)
    result = AuctionResult((), tuple(quotes), selection, decision, eligible, draft.version)
    reasons = tuple(str(reason) for reason in decision.reasons)
    return Replayed(before.ping_id, campaign.id, before.at, result, reasons)


_NONE: tuple[Quote, ...] = ()
_PRICED_TEXT = frozenset(str(outcome) for outcome in PRICED)
_NOTHING = DraftSide(True, frozenset(), ())


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
) -> tuple[Quote, ...] | None:
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
        Quote(order.id, order.buyer_id, leg, price, order.priority, order.weight)
        for leg in sorted(legs)
        if order.pricing.buys(leg)
        and (
            price := order.pricing.fixed_price(leg)
            or (answer.leg_price(leg) if answer is not None else None)
        )
    )
