"""Replay: the stored pings' auctions re-run on a configuration, with the bids buyers
actually gave (DESIGN §9 "replay"). No buyer is contacted.

Each stored ping is re-run with ``flows.auction.run_auction`` on the configuration given,
seeded by its own ping id (the draws among equals are the original's), every order
traced (a full scan, not a walk: a replay's lines are compared order by order):

- a bid order (or an accept-only fixed one) answers what its buyer answered that ping,
  its price checked again against the configuration's floor and ``max_bid``; an order
  the ping never asked (new in the draft, or not met by the original walk) is
  :data:`UNKNOWN`: no bid, said so in its line and counted;
- caps are simulated in order (:class:`CapSimulation`): every window starts empty at
  the start of the replayed period, and a replayed win takes room only when its ping was
  posted (made a lead), at the price the replay gave it. Buyers' account balances are
  not simulated (a replay never refuses for ``balance``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from pingtree.delivery.compiled import CompiledDelivery
from pingtree.delivery.ping_outcomes import judge_legs
from pingtree.delivery.read import BuyerAnswer
from pingtree.domain.auction import Quote
from pingtree.domain.campaigns import Campaign
from pingtree.domain.caps import charges_for
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.fields import FieldValueError, values_from_json
from pingtree.domain.money import to_cents
from pingtree.domain.orders import CapKind, Leg, Order
from pingtree.domain.outcomes import Outcome, Reason
from pingtree.domain.trace import Candidate
from pingtree.domain.verticals import LeadValue
from pingtree.flows.auction import AuctionResult, run_auction
from pingtree.flows.ports import BidResult
from pingtree.flows.replay_assume import ASSUMED, AssumedBid
from pingtree.flows.requests import campaign_refusal
from pingtree.store.replay_pings import StoredPing
from pingtree.store.snapshot import Snapshot

__all__ = [
    "UNKNOWN",
    "CapSimulation",
    "Replayed",
    "StoredBids",
    "replay_lead",
    "replay_ping",
    "replay_the_same",
    "stored_answer",
]

#: the reason of a bid order the stored ping never asked: its answer is unknown
UNKNOWN = "unknown: not asked by the stored ping (no answer to replay)"
#: outcomes a stored line has when its buyer was asked (an answer to replay)
_ASKED = frozenset(
    {
        Outcome.BID,
        Outcome.FIXED,
        Outcome.NO_BID,
        Outcome.BELOW_FLOOR,
        Outcome.ABOVE_MAX_BID,
        Outcome.TIMEOUT,
        Outcome.ERROR,
        Outcome.SKIPPED_SLOW,
        Outcome.THROTTLED,
        Outcome.CIRCUIT_OPEN,
        Outcome.BUYER_ALREADY_WON,
    }
)
#: the stored lines whose price is the buyer's own, to judge again
_PRICES_KEPT = frozenset(
    {Outcome.BID, Outcome.FIXED, Outcome.BELOW_FLOOR, Outcome.BUYER_ALREADY_WON}
)
#: a replay's fan-out never waits on the network: any deadline far enough is the same
_NO_WAIT_S = 3600.0


class StoredBids:
    """A bid source answering from one stored ping's trace (``flows.ports.BidSource``),
    and by ``assumed`` bids (``flows.replay_assume``) for orders it has no answer for."""

    def __init__(
        self,
        lines: Mapping[str, Candidate],
        assumed: Mapping[str, AssumedBid] | None = None,
        ping_id: str = "",
        legs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._lines = lines
        self._legs = legs or {}
        self._assumed = assumed or {}
        self._ping_id = ping_id
        #: order ids asked that the stored ping has no answer for
        self.unknown: list[str] = []
        #: order ids answered by an assumed bid
        self.assumed: list[str] = []

    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> Sequence[BidResult]:
        return [self._answer(order) for order in orders]

    def _answer(self, order: Order) -> BidResult:
        answer = stored_answer(self._lines.get(order.id), order, self._legs.get(order.id))
        if answer.reason != UNKNOWN:
            return answer
        curve = self._assumed.get(order.id)
        if curve is None:
            self.unknown.append(order.id)
            return answer
        self.assumed.append(order.id)
        price = curve.draw(self._ping_id, order.id)
        if price is None:
            return BidResult(order.id, Outcome.NO_BID, reason=f"no bid, {ASSUMED}")
        line = Candidate(order.id, order.buyer_id, Outcome.BID, ASSUMED, price)
        judged = stored_answer(line, order)
        return replace(judged, reason=f"{judged.reason}; {ASSUMED}" if judged.reason else ASSUMED)


def stored_answer(
    line: Candidate | None, order: Order, legs: Mapping[str, str] | None = None
) -> BidResult:
    """What ``order``'s buyer answered, by the stored ping's ``line`` of it, judged again
    by ``order``'s floor and ``max_bid``; :data:`UNKNOWN` when it was never asked.
    ``legs``: a multi-leg bid's price of each leg kept (the auction's ``leg_bids``),
    each leg judged on its own as the live answer was."""
    # a fixed price line without a latency was priced by configuration, never asked
    never_asked = line is not None and line.outcome is Outcome.FIXED and line.latency_ms is None
    if line is None or line.outcome not in _ASKED or never_asked:
        return BidResult(order.id, Outcome.NO_BID, reason=UNKNOWN)
    latency = line.latency_ms
    if legs and line.outcome is Outcome.BID:
        answer = BuyerAnswer(True, leg_bids={Leg(leg): Decimal(p) for leg, p in legs.items()})
        return judge_legs(order, answer, latency or 0)
    if line.outcome not in _PRICES_KEPT or line.price is None:
        return BidResult(order.id, line.outcome, reason=line.reason, latency_ms=latency)
    # the buyer's own price, judged again by this configuration's floor and max_bid
    price, pricing = line.price, order.pricing
    if pricing.max_bid is not None and price > pricing.max_bid:
        why = f"price {price} above max_bid {pricing.max_bid}"
        return BidResult(order.id, Outcome.ABOVE_MAX_BID, reason=why, latency_ms=latency)
    if pricing.below_floor(price):
        said = "not over" if pricing.floor_strict else "below"
        return BidResult(
            order.id,
            Outcome.BELOW_FLOOR,
            price=price,
            reason=f"{said} floor {pricing.floor}",
            latency_ms=latency,
        )
    return BidResult(order.id, Outcome.BID, price=price, latency_ms=latency)


class CapSimulation:
    """Cap and budget room as the replay's own sales in time order use it (the module's
    rule): counters by (scope, window), empty at the start of the period."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._used: defaultdict[tuple[str, str], int] = defaultdict(int)
        #: each order's counters: (scope, window) key, limit, whether a budget's, whether
        #: a spend's (else a count's); with the moments they hold from and until (the
        #: earliest end of their windows: the keys are the same until then)
        self._counters: dict[str, tuple[_Counters, dt.datetime, dt.datetime]] = {}
        config = snapshot.config
        #: the orders with a cap or a budget (their own or their buyer's): the others
        #: always have room
        self.capped = frozenset(
            order.id
            for order in config.orders.values()
            if order.caps
            or (order.buyer_id in config.buyers and config.buyers[order.buyer_id].caps)
        )

    def check(self, order: Order, now: dt.datetime) -> Outcome | None:
        order_id = order.id
        if order_id not in self.capped:
            return None
        found = self._counters.get(order_id)
        counters = (
            found[0] if found and found[1] <= now < found[2] else self._counters_of(order_id, now)
        )
        used = self._used
        for key, limit, is_budget, _ in counters:
            # room for one more sale: a count below its limit, a spend not yet at it
            if used[key] >= limit:
                return Outcome.BUDGET if is_budget else Outcome.CAP
        return None

    def sold(self, result: AuctionResult, now: dt.datetime) -> None:
        self.charge(result.selection.winners, now)

    def charge(self, winners: Sequence[Quote], now: dt.datetime) -> None:
        """The counters a sale to ``winners`` at ``now`` takes room in: 1 in a count's,
        the price's cents in a spend's (``domain.caps.charges_for``'s amounts)."""
        for quote in winners:
            order_id = quote.order_id
            if order_id not in self.capped:
                continue  # no counter but its buyer's account, which is not simulated
            found = self._counters.get(order_id)
            counters = (
                found[0]
                if found and found[1] <= now < found[2]
                else self._counters_of(order_id, now)
            )
            cents = 0
            for key, _, _, spend in counters:
                if spend and not cents:
                    cents = to_cents(quote.price)
                self._used[key] += cents if spend else 1

    def _counters_of(self, order_id: str, now: dt.datetime) -> _Counters:
        """The order's counters at ``now``, kept until the first of their windows ends."""
        order = self._snapshot.config.orders[order_id]
        buyer = self._snapshot.config.buyers[order.buyer_id]
        # charges_for gives the order's caps, then its buyer's, then the account's
        spends = [cap.kind is CapKind.SPEND for cap in (*order.caps, *buyer.caps)]
        charges = [c for c in charges_for(order, buyer, _ZERO, now) if not c.is_account]
        counters = tuple(
            ((c.scope, c.window_key), c.limit, c.is_budget, spend)
            for c, spend in zip(charges, spends, strict=True)
        )
        ends = [c.window_end for c in charges if c.window_end is not None]
        self._counters[order_id] = (counters, now, min(ends, default=_EVER))
        return counters


#: an order's counters: (scope, window) key, limit, whether a budget's, whether a spend's
_Counters = tuple[tuple[tuple[str, str], int, bool, bool], ...]
_EVER = dt.datetime.max.replace(tzinfo=dt.UTC)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Replayed:
    """One stored ping re-run on one configuration."""

    ping_id: str
    campaign_id: str
    at: dt.datetime
    #: ``None`` when the ping is refused before any buyer is considered
    result: AuctionResult | None
    reasons: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    #: the orders answered by an assumed bid (``flows.replay_assume``)
    assumed: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.result is not None and self.result.decision.accepted

    @property
    def winners(self) -> tuple[tuple[str, str, Decimal], ...]:
        """(order id, buyer id, price) of each winner; empty when not accepted."""
        # kept once read (functools.cached_property takes a lock each first read on 3.11,
        # which a replay's hundreds of thousands of pings feel)
        found: tuple[tuple[str, str, Decimal], ...] | None = self.__dict__.get("_winners")
        if found is None:
            result = self.result
            if result is None or not result.decision.accepted:
                found = ()
            else:
                found = tuple([(q.order_id, q.buyer_id, q.price) for q in result.selection.winners])
            self.__dict__["_winners"] = found
        return found


async def replay_ping(
    snapshot: Snapshot,
    ping: StoredPing,
    caps: CapSimulation,
    parsed: dict[str, dict[str, LeadValue] | None] | None = None,
    *,
    record: bool = True,
    assumed: Mapping[str, AssumedBid] | None = None,
) -> Replayed:
    """``ping``'s auction re-run on ``snapshot`` with its stored answers. ``parsed`` holds
    the ping's fields as read by a vertical, by its id: filled here, and passed again by
    the caller for another configuration whose vertical is the same (read once).
    ``record=False`` leaves its sale out of ``caps`` (the caller counts it); ``assumed``
    answers the orders the stored ping has no answer for."""
    found = replay_lead(snapshot, ping, parsed)
    if isinstance(found, Replayed):
        return found
    campaign, lead = found
    lines = {row[0]: Candidate.from_json(row) for row in ping.auction.get("candidates", [])}
    bids = StoredBids(lines, assumed, ping.id, ping.auction.get("leg_bids"))
    result = await run_auction(
        snapshot,
        campaign,
        lead,
        seed=ping.id,
        cap_check=lambda order: caps.check(order, ping.created_at),
        bids=bids,
        deadline=time.monotonic() + _NO_WAIT_S,
        walk_depth=None,
    )
    if record and result.decision.accepted and ping.posted:
        caps.sold(result, ping.created_at)
    reasons = tuple(str(r) for r in result.decision.reasons)
    return Replayed(
        ping.id,
        campaign.id,
        ping.created_at,
        result,
        reasons,
        tuple(bids.unknown),
        tuple(bids.assumed),
    )


def replay_lead(
    snapshot: Snapshot,
    ping: StoredPing,
    parsed: dict[str, dict[str, LeadValue] | None] | None = None,
) -> tuple[Campaign, LeadContext] | Replayed:
    """``ping``'s campaign and lead as ``snapshot`` reads them, or its replay when it is
    refused before any buyer is considered (``parsed`` as :func:`replay_ping`'s)."""
    campaign = snapshot.config.campaigns.get(ping.campaign_id)
    vertical = snapshot.config.verticals.get(campaign.vertical_id) if campaign else None
    if campaign is None or vertical is None:
        return Replayed(ping.id, ping.campaign_id, ping.created_at, None, ("campaign_unknown",))
    if Reason.PII_IN_PING in ping.reasons:  # its fields were never kept
        return Replayed(ping.id, campaign.id, ping.created_at, None, (str(Reason.PII_IN_PING),))
    refusal = campaign_refusal(snapshot, campaign, "ping_post")
    if refusal is not None:
        return Replayed(ping.id, campaign.id, ping.created_at, None, (str(refusal),))
    parsed = {} if parsed is None else parsed
    if vertical.id not in parsed:
        try:
            parsed[vertical.id] = values_from_json(vertical, ping.fields)
        except FieldValueError:
            parsed[vertical.id] = None
    values = parsed[vertical.id]
    if values is None:
        return Replayed(ping.id, campaign.id, ping.created_at, None, ("fields_no_longer_fit",))
    if any(name not in values for name in campaign.ping_options.required_fields):
        reason = str(Reason.MISSING_REQUIRED_FIELDS)
        return Replayed(ping.id, campaign.id, ping.created_at, None, (reason,))
    lead = LeadContext(
        values=values,
        test=False,
        now=ping.created_at,
        qualify_all=campaign.ping_options.qualify_all_criteria,
        legs=legs_offered(campaign.max_sells),
    )
    return campaign, lead


def replay_the_same(replayed: Replayed, ping: StoredPing, caps: CapSimulation) -> Replayed:
    """``replayed`` taken as ``ping``'s replay on another configuration that reads it the
    same (``flows.replay_scope``): its sale counted in that configuration's caps."""
    if replayed.result is not None and replayed.accepted and ping.posted:
        caps.sold(replayed.result, ping.created_at)
    return replayed
