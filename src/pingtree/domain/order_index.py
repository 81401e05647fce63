"""The orders of one vertical and test mode, indexed by what rules them out cheaply, and the
best-first walk a ping makes through them (DESIGN §9 "Best-first at scale").

When the snapshot compiles, the orders that stand whatever the lead and the clock (active,
their buyer active) are indexed. A fixed-price order's price is known then, so they are
kept sorted best first for each leg and ranking rule, and each sorted list knows, for every
field an order's filter gates (``domain.filter_gates.field_gates``: state and other listed
values, zip prefixes, numeric and date ranges), which positions each value admits, as a
bit mask. A ping ANDs the masks of its values and walks the positions left best first,
checking each order it meets on the lead (schedule, filters, caps, dedup); it stops at the
boundary between two ranks once the leg has enough distinct buyers: the winners, the ping
options' minimum number of buyers and a depth of fallback are then certain, and the rest
could only rank lower. Orders asked per lead (bid orders, accept-only pings) are few: every
one that stands is asked.

The walk's ranking is the full scan's ranking cut at a rank boundary, so ``select`` picks
the same winners from it and ``decide`` reaches the same decision (the property test in
``tests/unit/test_order_index.py`` compares them). The orders it did not meet are not in the
trace: :func:`why_not` says what became of them when someone opens it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pingtree.domain.auction import Quote
from pingtree.domain.campaigns import RankBy
from pingtree.domain.eligibility import Ineligible, LeadContext, check_standing
from pingtree.domain.filter_gates import GATE_FIELD
from pingtree.domain.gate_masks import GateMask, gate_masks
from pingtree.domain.orders import Leg, Order, OrderStatus
from pingtree.domain.outcomes import Outcome
from pingtree.domain.parties import Buyer
from pingtree.domain.trace import Candidate
from pingtree.domain.verticals import LeadValue

__all__ = [
    "NOT_REACHED",
    "OrderIndex",
    "Ranked",
    "RankedList",
    "Walk",
    "gate_reason",
    "priced_candidate",
    "rank_key",
    "walk",
    "why_not",
]

#: the reason given, when a trace is opened, to an order the walk stopped before
NOT_REACHED = "ranked after the winners: not reached (caps not checked)"

#: an order's rank under a campaign's rule: smaller comes first (``domain.auction.rank``)
RankKey = tuple[Decimal | int, Decimal | int]


def rank_key(price: Decimal, priority: int, rank_by: RankBy) -> RankKey:
    """The sort key of ``domain.auction.rank``'s rule, before its draw among equals."""
    if rank_by is RankBy.PRIORITY:
        return (priority, -price)
    return (-price, priority)


@dataclass(frozen=True, slots=True)
class Ranked:
    """A fixed-price order in a sorted list: its quote for one leg, its rank under one rule
    and its trace line when it may take a lead sold on every leg it buys (prebuilt)."""

    order: Order
    quote: Quote
    key: RankKey
    #: its trace line for a lead sold on every leg, and on this leg alone
    priced: Candidate
    priced_alone: Candidate

    @classmethod
    def of(cls, order: Order, quote: Quote, rule: RankBy) -> Ranked:
        key = rank_key(quote.price, quote.priority, rule)
        every, alone = frozenset(Leg), frozenset({quote.leg})
        return cls(
            order, quote, key, priced_candidate(order, every), priced_candidate(order, alone)
        )


@dataclass(frozen=True)
class RankedList:
    """Fixed-price orders of one leg, best first by one rule, with their gates."""

    entries: tuple[Ranked, ...]
    gates: tuple[GateMask, ...]

    @classmethod
    def build(cls, entries: list[Ranked]) -> RankedList:
        entries.sort(key=lambda r: r.key)
        return cls(tuple(entries), gate_masks([r.order for r in entries]))

    def admitted(self, values: Mapping[str, LeadValue]) -> int:
        """The positions whose gates the lead's values meet (a missing field meets all)."""
        found = (1 << len(self.entries)) - 1
        for gate in self.gates:
            value = values.get(gate.field)
            if value is not None:
                mask = gate.admits(value)
                if mask is not None:
                    found &= mask
        return found


@dataclass(frozen=True)
class OrderIndex:
    """The orders of one vertical and test mode that may take some lead: fixed-price ones
    ranked for each leg and rule, the ones asked per lead in configuration order."""

    fixed: Mapping[tuple[Leg, RankBy], RankedList] = field(default_factory=dict)
    asked: tuple[Order, ...] = ()

    @classmethod
    def build(cls, orders: Iterable[Order], buyers: Mapping[str, Buyer]) -> OrderIndex:
        """Index ``orders`` (one vertical, one test mode). Paused orders and orders of an
        inactive buyer are left out: no lead can take them until the configuration
        changes, which builds a new index."""
        standing = [
            order
            for order in orders
            if order.status is OrderStatus.ACTIVE and buyers[order.buyer_id].active
        ]
        fixed: dict[tuple[Leg, RankBy], RankedList] = {}
        for leg in Leg:
            quotes = [
                (order, Quote(order.id, order.buyer_id, leg, price, order.priority, order.weight))
                for order in standing
                if not order.pricing.asked_per_lead
                and (price := order.pricing.fixed_price(leg)) is not None
            ]
            for rule in RankBy:
                fixed[(leg, rule)] = RankedList.build([Ranked.of(o, q, rule) for o, q in quotes])
        asked = tuple(order for order in standing if order.pricing.asked_per_lead)
        return cls(fixed, asked)


@dataclass
class Walk:
    """What a walk met: the trace lines of every order it checked, the quotes of those that
    may take the lead, and the bid orders to ask."""

    candidates: list[Candidate] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    to_ping: list[Order] = field(default_factory=list)


#: an order's checks on the lead (schedule, filters, caps, dedup): ``None`` when it may bid
Admit = Callable[[Order], Ineligible | None]


def walk(
    index: OrderIndex,
    lead: LeadContext,
    rank_by: RankBy,
    buyers_wanted: int,
    closed: Admit,
    admit: Admit,
    excluded: frozenset[str] = frozenset(),
) -> Walk:
    """Walk ``index`` best first for each leg of ``lead.legs``, over the orders whose gates
    the lead's values meet, until that leg's quotes hold ``buyers_wanted`` distinct buyers,
    stopping only between two ranks (a tie is always taken whole, so the seeded draw among
    equals is the full scan's).

    Each order met is checked as the full scan checks it: ``closed`` (its schedule), then
    for an order asked per lead its state gate, then ``admit`` (filters, caps, dedup), at
    most once per order and for the orders met only; ``excluded``
    orders are passed over without a trace line. An order asked per lead that stands is
    listed in ``to_ping`` (its legs checked here); one that does not gets its trace line.
    """
    met: dict[str, Ineligible | None] = {}
    found = Walk()
    every_leg, one_leg = lead.legs == _EVERY_LEG, len(lead.legs) == 1
    for leg in sorted(lead.legs):
        ranked = index.fixed.get((leg, rank_by))
        if ranked is None:
            continue
        entries = ranked.entries
        left = ranked.admitted(lead.values)
        buyers: set[str] = set()
        key: RankKey | None = None
        while left:
            lowest = left & -left
            left ^= lowest
            entry = entries[lowest.bit_length() - 1]
            if entry.key != key:  # between two ranks: enough buyers already?
                if len(buyers) >= buyers_wanted:
                    break
                key = entry.key
            order = entry.order
            if order.id in excluded:
                continue
            if order.id in met:
                verdict = met[order.id]
            else:
                verdict = met[order.id] = closed(order) or admit(order)
                found.candidates.append(
                    _priced(entry, every_leg, one_leg, lead.legs)
                    if verdict is None
                    else Candidate(order.id, order.buyer_id, verdict.outcome, verdict.reason)
                )
            if verdict is None:
                found.quotes.append(entry.quote)
                buyers.add(order.buyer_id)
    state = lead.values.get(GATE_FIELD)
    for order in index.asked:
        if order.id in excluded:
            continue
        verdict = (
            (
                None
                if any(order.pricing.buys(leg) for leg in lead.legs)
                else Ineligible(Outcome.LEG, "buys no leg on offer")
            )
            or closed(order)
            or _outside_gate(order, state)
            or admit(order)
        )
        if verdict is None:
            found.to_ping.append(order)
        else:
            found.candidates.append(
                Candidate(order.id, order.buyer_id, verdict.outcome, verdict.reason)
            )
    return found


_EVERY_LEG = frozenset(Leg)


def _priced(entry: Ranked, every_leg: bool, one_leg: bool, legs: frozenset[Leg]) -> Candidate:
    if every_leg:
        return entry.priced
    # one leg on offer: the leg of the list being walked
    return entry.priced_alone if one_leg else priced_candidate(entry.order, legs)


def priced_candidate(order: Order, legs: frozenset[Leg]) -> Candidate:
    """The trace line of a fixed-price order that may take the lead: its best price of the
    legs on offer."""
    best = max(price for leg in legs if (price := order.pricing.fixed_price(leg)) is not None)
    return Candidate(order.id, order.buyer_id, Outcome.FIXED, price=best)


def _outside_gate(order: Order, state: object) -> Ineligible | None:
    if state is not None and order.state_gate is not None and state not in order.state_gate:
        return Ineligible(Outcome.FILTER, gate_reason(order.state_gate))
    return None


def gate_reason(gate: frozenset[str]) -> str:
    """The trace's reason for a lead outside an order's state gate."""
    return f"{GATE_FIELD} in [{', '.join(sorted(gate))}]"


def why_not(
    orders: Iterable[Order],
    buyers: Mapping[str, Buyer],
    lead: LeadContext,
    seen: Iterable[str],
) -> list[Candidate]:
    """The trace lines of the orders a walk did not meet, rebuilt when a trace is opened
    from the configuration the ping ran on: what rules each out whatever the lead (status,
    test mode, legs, schedule at ``lead.now``), else its filter on the lead's stored
    fields, else :data:`NOT_REACHED` with its fixed price (it stood, and ranked after the
    orders met). Caps, budgets and dedup are not rebuilt: they were of that moment.

    ``orders`` are the vertical's orders of the lead's test mode; those in ``seen`` are
    skipped. Lines come in the order of ``orders``.
    """
    skip = set(seen)
    lines: list[Candidate] = []
    state = lead.values.get(GATE_FIELD)
    for order in orders:
        if order.id in skip:
            continue
        found = _static(order, buyers[order.buyer_id], lead, state)
        if found is not None:
            lines.append(Candidate(order.id, order.buyer_id, found.outcome, found.reason))
        elif not order.pricing.asked_per_lead:
            line = priced_candidate(order, lead.legs)
            lines.append(
                Candidate(line.order_id, line.buyer_id, line.outcome, NOT_REACHED, line.price)
            )
        else:  # a bid order that stood was asked: its line is stored; this is a safety net
            lines.append(Candidate(order.id, order.buyer_id, Outcome.SKIPPED_SLOW, NOT_REACHED))
    return lines


def _static(order: Order, buyer: Buyer, lead: LeadContext, state: object) -> Ineligible | None:
    """The full scan's checks before caps, in its order and with its words."""
    standing = check_standing(order, buyer, lead.test, lead.legs, lead.now)
    if standing is not None:
        return standing
    outside = _outside_gate(order, state)
    if outside is not None:
        return outside
    if order.filter is not None:
        verdict = order.filter(lead.values, lead.qualify_all)
        if not verdict.passed:
            return Ineligible(Outcome.FILTER, verdict.reason)
    return None
