"""A stored ping's replay told from its stored auction, not run (``flows.whatif``): when
its campaign, vertical, orders and buyers read as they did when it ran
(``flows.replay_scope``), the replay's auction is the stored one, but for what a replay
decides otherwise (caps the simulation finds otherwise, a refusal it never makes, a return
rule's ranking), which is checked line by line.

- :meth:`StoredOutcomes.outcome`: the told replay, ranking and money (a :class:`Replayed`),
  for a ping the draft may change (its ranking is what the draft's selection is made
  again from, ``flows.replay_skip.reselected``);
- :meth:`StoredOutcomes.told`: only its money (:class:`Told`), for a ping of a vertical
  the draft leaves alone, whose replay is the same on both sides: what a week's pings of
  such a vertical repeat (the winners and the campaign's decision) is worked out once per
  distinct sale, not once a ping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pingtree.domain.auction import Decision, Quote, Selection, decide
from pingtree.domain.campaigns import Campaign
from pingtree.domain.money import format_money
from pingtree.domain.orders import Leg
from pingtree.domain.outcomes import Outcome
from pingtree.flows.auction import AuctionResult, quote_from_json
from pingtree.flows.replay import CapSimulation, Replayed
from pingtree.flows.requests import campaign_refusal
from pingtree.store.replay_pings import StoredPing
from pingtree.store.snapshot import Snapshot

__all__ = ["StoredOutcomes", "Told"]

#: lines settled before the cap check: the same whatever the cap room
BEFORE_CAPS = frozenset(
    {Outcome.PAUSED, Outcome.TEST_MODE, Outcome.LEG, Outcome.SCHEDULE, Outcome.FILTER}
)
#: lines a replay never gives (it simulates no balance, return rate or dedup)
NOT_REPLAYED = frozenset({Outcome.BALANCE, Outcome.RETURN_RATE, Outcome.DEDUP})
FULL = frozenset({Outcome.CAP, Outcome.BUDGET})
_ZERO = Decimal(0)
#: how many quotes, decisions and sales :class:`StoredOutcomes` keeps before it starts
#: again (``flows.replay_skip`` keeps as many)
KEPT = 20_000


@dataclass(frozen=True, slots=True)
class Told:
    """The money of a ping told from its stored auction (see :meth:`StoredOutcomes.told`)."""

    #: the winners' quotes when accepted (what a posted ping's sale charges), else empty
    quotes: tuple[Quote, ...]
    #: (order id, buyer id, price) of each winner when accepted (``Replayed.winners``)
    winners: tuple[tuple[str, str, Decimal], ...]
    #: the seller's payout (``Decision.payout``)
    payout: Decimal


class StoredOutcomes:
    """Tells pings' replays on one configuration from their stored auctions (the
    stored quotes, the campaign's decisions and the sales read once, as a week's pings
    repeat them)."""

    def __init__(self, snapshot: Snapshot, caps: CapSimulation) -> None:
        self._snapshot, self._caps = snapshot, caps
        self._quotes: dict[tuple[Any, ...], Quote] = {}
        self._decisions: dict[tuple[str, bool, Decimal, int], tuple[Decision, str, tuple[str, ...]]]
        self._decisions = {}
        #: a told sale by campaign, leg, winners' ranking lines, buyers and stored payout
        #: (``None``: the stored auction cannot tell it)
        self._sales: dict[tuple[Any, ...], Told | None] = {}
        #: a campaign by id, or ``None`` when it is unknown or refuses pings
        self._campaigns: dict[str, Campaign | None] = {}

    def outcome(self, ping: StoredPing) -> Replayed | None:
        """``ping``'s replay as its stored auction tells it, or ``None`` when it must be
        run. The caller has checked that the configuration the ping ran on reads its
        campaign as this one does; the caps are checked, not charged."""
        auction = ping.auction
        campaign = self._told_campaign(ping)
        if campaign is None:
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
            selection = _NO_SELECTION
        eligible = int(auction.get("eligible_buyers") or 0)
        decision, payout, reasons = self._decided(campaign, selection, eligible)
        stored_payout = auction.get("payout")
        if stored_payout is not None and stored_payout != payout:
            return None
        result = AuctionResult((), ranking, selection, decision, eligible, self._snapshot.version)
        return Replayed(ping.id, campaign.id, ping.created_at, result, reasons)

    def told(self, ping: StoredPing) -> Told | None:
        """``ping``'s money as :meth:`outcome` tells it (the same checks, the same winners,
        decision and payout), or ``None`` when it must be run; without its ranking."""
        auction = ping.auction
        campaign = self._told_campaign(ping)
        if campaign is None:
            return None
        winner_ids: Sequence[str] = auction.get("winners") or ()
        lines: tuple[tuple[Any, ...], ...] = ()
        if winner_ids:
            # the last line of an order, as ``outcome``'s quotes by id keep
            by_id = {row[0]: row for row in auction.get("ranking") or ()}
            if not all(order_id in by_id for order_id in winner_ids):
                return None
            lines = tuple([tuple(by_id[order_id]) for order_id in winner_ids])
        key = (
            campaign.id,
            auction.get("leg") if winner_ids else None,
            lines,
            int(auction.get("eligible_buyers") or 0),
            auction.get("payout"),
        )
        if key in self._sales:
            return self._sales[key]
        if len(self._sales) > KEPT:
            self._sales.clear()
        found = self._sales[key] = self._sale(campaign, *key[1:])
        return found

    def _sale(
        self,
        campaign: Campaign,
        leg_text: str | None,
        lines: tuple[tuple[Any, ...], ...],
        eligible: int,
        stored_payout: str | None,
    ) -> Told | None:
        if lines:
            winners = tuple([quote_from_json(line) for line in lines])
            revenue = sum([quote.price for quote in winners], _ZERO)
            selection = Selection(_LEGS.get(leg_text or ""), winners, winners, revenue)
        else:
            selection = _NO_SELECTION
        decision, payout, _ = self._decided(campaign, selection, eligible)
        if stored_payout is not None and stored_payout != payout:
            return None
        if not decision.accepted:
            return Told((), (), decision.payout)
        sold = tuple([(q.order_id, q.buyer_id, q.price) for q in selection.winners])
        return Told(selection.winners, sold, decision.payout)

    def _told_campaign(self, ping: StoredPing) -> Campaign | None:
        """The ping's campaign when its stored lines tell its replay here (every order
        known, no outcome a replay never gives, each capped order's line agreeing with
        the cap simulation as it stands); else ``None``."""
        auction = ping.auction
        rows: Sequence[Sequence[Any]] = auction.get("candidates") or ()
        if not rows or "walked" not in auction:  # refused before the auction, or re-ranked
            return None
        campaign_id = ping.campaign_id
        if campaign_id in self._campaigns:
            campaign = self._campaigns[campaign_id]
        else:
            campaign = self._campaigns[campaign_id] = self._campaign(campaign_id)
        if campaign is None:
            return None
        caps = self._caps
        orders, capped, at = self._snapshot.config.orders, caps.capped, ping.created_at
        for row in rows:
            order_id, outcome = row[0], row[2]
            order = orders.get(order_id)
            if order is None or outcome not in TOLD_TEXT:
                return None
            if outcome in BEFORE_CAPS_TEXT:
                continue
            if order_id in capped:
                if (caps.check(order, at) is not None) != (outcome in FULL_TEXT):
                    return None
            elif outcome in FULL_TEXT:
                return None
        return campaign

    def _decided(
        self, campaign: Campaign, selection: Selection, eligible: int
    ) -> tuple[Decision, str, tuple[str, ...]]:
        """The campaign's decision on a selection, its payout's text and its reasons."""
        sold = selection.leg is not None and bool(selection.winners)
        key = (campaign.id, sold, selection.revenue, eligible)
        decided = self._decisions.get(key)
        if decided is None:
            if len(self._decisions) > KEPT:
                self._decisions.clear()
            decision = decide(campaign, selection, eligible)
            reasons = tuple(str(reason) for reason in decision.reasons)
            decided = self._decisions[key] = (
                decision,
                format_money(decision.payout),
                reasons,
            )
        return decided

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
            if len(self._quotes) > KEPT:
                self._quotes.clear()
            found = self._quotes[key] = quote_from_json(row)
        return found


_LEGS = {str(leg): leg for leg in Leg}
_NO_SELECTION = Selection(None, (), (), _ZERO)
FULL_TEXT = frozenset(str(outcome) for outcome in FULL)
#: a stored line's outcomes a replay may tell (every outcome but those it never gives)
TOLD_TEXT = frozenset(str(outcome) for outcome in Outcome if outcome not in NOT_REPLAYED)
BEFORE_CAPS_TEXT = frozenset(str(outcome) for outcome in BEFORE_CAPS)
NOT_REPLAYED_TEXT = frozenset(str(outcome) for outcome in NOT_REPLAYED)
