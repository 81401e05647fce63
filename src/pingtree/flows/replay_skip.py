"""The replay's shortcuts (``flows.whatif``): what a replay would give, told without
running the auction, and only when that is certain.

- :class:`StoredOutcomes`: a ping whose campaign, vertical, orders and buyers are as they
  were when it ran (``flows.replay_scope`` between its version and the one in force) is
  replayed as it was stored: the stored trace's winners and the campaign's decision on
  them. Not when a stored line says something the replay decides otherwise (caps the
  simulation finds otherwise, a refusal it never makes, a return rule's ranking).
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
from decimal import Decimal
from typing import Any

from pingtree.domain.auction import Decision, Quote, Selection, decide, select
from pingtree.domain.campaigns import Campaign
from pingtree.domain.eligibility import LeadContext, check_standing, legs_offered
from pingtree.domain.filter_gates import GATE_FIELD
from pingtree.domain.money import format_money
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import PRICED, Outcome
from pingtree.domain.trace import Candidate
from pingtree.flows.auction import FALLBACK_BUYERS, AuctionResult, quote_from_json
from pingtree.flows.ports import BidResult
from pingtree.flows.replay import UNKNOWN, CapSimulation, Replayed, stored_answer
from pingtree.flows.requests import campaign_refusal
from pingtree.store.replay_pings import StoredPing
from pingtree.store.snapshot import Snapshot

__all__ = ["DraftSide", "DraftSides", "StoredOutcomes", "reselected"]

#: lines settled before the cap check: the same whatever the cap room
_BEFORE_CAPS = frozenset(
    {Outcome.PAUSED, Outcome.TEST_MODE, Outcome.LEG, Outcome.SCHEDULE, Outcome.FILTER}
)
#: lines a replay never gives (it simulates no balance, return rate or dedup)
_NOT_REPLAYED = frozenset({Outcome.BALANCE, Outcome.RETURN_RATE, Outcome.DEDUP})
_FULL = frozenset({Outcome.CAP, Outcome.BUDGET})
_ZERO = Decimal(0)


class StoredOutcomes:
    """Tells pings' replays on one configuration from their stored auctions (the
    stored quotes and the campaign's decisions read once, as a week's pings repeat
    them)."""

    def __init__(self, snapshot: Snapshot, caps: CapSimulation) -> None:
        self._snapshot, self._caps = snapshot, caps
        self._quotes: dict[tuple[Any, ...], Quote] = {}
        self._decisions: dict[tuple[str, bool, Decimal, int], tuple[Decision, str, tuple[str, ...]]]
        self._decisions = {}
        #: a campaign by id, or ``None`` when it is unknown or refuses pings
        self._campaigns: dict[str, Campaign | None] = {}

    def outcome(self, ping: StoredPing) -> Replayed | None:
        """``ping``'s replay as its stored auction tells it, or ``None`` when it must be
        run. The caller has checked that the configuration the ping ran on reads its
        campaign as this one does; the caps are checked, not charged."""
        auction = ping.auction
        rows: Sequence[Sequence[Any]] = auction.get("candidates") or ()
        if not rows or "walked" not in auction:  # refused before the auction, or re-ranked
            return None
        snapshot, caps = self._snapshot, self._caps
        campaign_id = ping.campaign_id
        if campaign_id in self._campaigns:
            campaign = self._campaigns[campaign_id]
        else:
            campaign = self._campaigns[campaign_id] = self._campaign(campaign_id)
        if campaign is None:
            return None
        orders, capped, at = snapshot.config.orders, caps.capped, ping.created_at
        for row in rows:
            order_id, outcome = row[0], row[2]
            order = orders.get(order_id)
            if order is None or outcome not in _TOLD_TEXT:
                return None
            if outcome in _BEFORE_CAPS_TEXT:
                continue
            if order_id in capped:
                if (caps.check(order, at) is not None) != (outcome in _FULL_TEXT):
                    return None
            elif outcome in _FULL_TEXT:
                return None
        quote = self._quote
        ranking = tuple([quote(row) for row in auction.get("ranking") or ()])
        winner_ids = auction.get("winners")
        if winner_ids:
            by_id = {quote.order_id: quote for quote in ranking}
            if not all(order_id in by_id for order_id in winner_ids):
                return None
            winners = tuple([by_id[order_id] for order_id in winner_ids])
            leg = _LEGS.get(auction.get("leg") or "")
            revenue = sum([quote.price for quote in winners], _ZERO)
            selection = Selection(leg, winners, ranking, revenue)
        else:
            winners, leg, revenue, selection = (), None, _ZERO, _NO_SELECTION
        eligible = int(auction.get("eligible_buyers") or 0)
        key = (campaign.id, leg is not None and bool(winners), revenue, eligible)
        decided = self._decisions.get(key)
        if decided is None:
            if len(self._decisions) > _KEPT:
                self._decisions.clear()
            decision = decide(campaign, selection, eligible)
            reasons = tuple(str(reason) for reason in decision.reasons)
            decided = self._decisions[key] = (decision, format_money(decision.payout), reasons)
        decision, payout, reasons = decided
        stored_payout = auction.get("payout")
        if stored_payout is not None and stored_payout != payout:
            return None
        result = AuctionResult((), ranking, selection, decision, eligible, snapshot.version)
        return Replayed(ping.id, campaign.id, ping.created_at, result, reasons)

    def _campaign(self, campaign_id: str) -> Campaign | None:
        snapshot = self._snapshot
        campaign = snapshot.config.campaigns.get(campaign_id)
        if campaign is None or campaign_refusal(snapshot, campaign, "ping_post") is not None:
            return None
        return campaign

    def _quote(self, row: Sequence[Any]) -> Quote:
        key = tuple(row)
        found = self._quotes.get(key)
        if found is None:
            if len(self._quotes) > _KEPT:
                self._quotes.clear()
            found = self._quotes[key] = quote_from_json(row)
        return found


#: how many quotes and decisions :class:`StoredOutcomes` (and bid orders' quotes
#: :class:`DraftSides`) keeps before it starts again
_KEPT = 20_000


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
                and row[2] not in _NOT_REPLAYED_TEXT
            )
            if known and row is not None and row[2] in _BEFORE_CAPS_TEXT:
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
                if row[2] in _FULL_TEXT and not draft_room:
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
_LEGS = {str(leg): leg for leg in Leg}
_NO_SELECTION = Selection(None, (), (), _ZERO)
_FULL_TEXT = frozenset(str(outcome) for outcome in _FULL)
_PRICED_TEXT = frozenset(str(outcome) for outcome in PRICED)
#: a stored line's outcomes a replay may tell (every outcome but those it never gives)
_TOLD_TEXT = frozenset(str(outcome) for outcome in Outcome if outcome not in _NOT_REPLAYED)
_NOTHING = DraftSide(True, frozenset(), ())
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
