"""The auction once candidates are priced: rank, select, ping options, payout (DESIGN §8.1).

The flow scans and prices; this module compares. Everything here is deterministic: the one
random step (the weighted draw among exact equals) is seeded by the ping id, so replaying a
trace gives the same ranking, whatever order the bids arrived in.

First price: each winner pays its own price. The seller's payout is a share of the revenue
or a fixed amount, and the ping's quoted payout is a ceiling for the sale made at post.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pingtree.domain.campaigns import Campaign, PayoutModel, PingOptions, RankBy
from pingtree.domain.money import quantize_down, split_proportionally
from pingtree.domain.orders import Leg
from pingtree.domain.outcomes import Reason

__all__ = [
    "Decision",
    "Quote",
    "Selection",
    "decide",
    "payout_for",
    "rank",
    "realized_payout",
    "sale_failures",
    "select",
    "split_payout",
]

_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Quote:
    """One priced candidate: an order's price for one leg of the lead."""

    order_id: str
    buyer_id: str
    leg: Leg
    price: Decimal
    priority: int
    #: relative chance among exact equals; 0 (or less) only ever comes after the others
    weight: int


def rank(quotes: Sequence[Quote], rank_by: RankBy, seed: str) -> list[Quote]:
    """``quotes`` best first, by the campaign's rule.

    - ``PRICE``: price descending, then priority ascending (a lower number first);
    - ``PRIORITY``: priority ascending (tiers), then price descending within a tier;

    then, among quotes equal on both, a weighted random draw without replacement: each
    remaining quote comes next with probability weight ÷ the remaining total; quotes of
    weight ≤ 0 follow the others. The draw is seeded by ``seed`` (the ping id) and by the
    tie's price and priority, and the tie is put in a canonical order first, so the result
    depends only on the set of quotes and the seed: never on their input order, never on
    the process (``hashlib``, not ``hash()``).
    """

    def by_rule(quote: Quote) -> tuple[Decimal | int, Decimal | int]:
        if rank_by is RankBy.PRIORITY:
            return (quote.priority, -quote.price)
        return (-quote.price, quote.priority)

    ranked: list[Quote] = []
    for _, tie in itertools.groupby(sorted(quotes, key=by_rule), key=by_rule):
        ranked.extend(_draw(list(tie), seed))
    return ranked


def _draw(tie: list[Quote], seed: str) -> list[Quote]:
    if len(tie) == 1:
        return tie
    tie.sort(key=lambda q: (q.order_id, q.buyer_id, q.leg.value, q.weight))
    first = tie[0]
    # one generator per tie: a quote added elsewhere in the ranking does not reshuffle it
    material = f"{seed}\x1f{first.price.normalize()}\x1f{first.priority}".encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))
    drawn: list[Quote] = []
    pool = [q for q in tie if q.weight > 0]
    while pool:
        ticket = rng.randrange(sum(q.weight for q in pool))
        for i, quote in enumerate(pool):
            ticket -= quote.weight
            if ticket < 0:
                drawn.append(pool.pop(i))
                break
    drawn.extend(q for q in tie if q.weight <= 0)
    return drawn


@dataclass(frozen=True, slots=True)
class Selection:
    """The winners of one auction and the ranking to fall back on."""

    #: ``None`` when nothing was selected
    leg: Leg | None
    #: best first; a buyer at most once
    winners: tuple[Quote, ...]
    #: the full ranking of the chosen leg, winners first then the others in rank order
    #: (other orders of a winning buyer included: fallback skips them itself)
    ranking: tuple[Quote, ...]
    #: the sum of the winners' prices
    revenue: Decimal


def select(quotes: Sequence[Quote], max_sells: int, rank_by: RankBy, seed: str) -> Selection:
    """Choose the winners (DESIGN §8.1). A buyer wins at most once, whatever its orders.

    - ``max_sells == 1``: the exclusive quotes are ranked and the first wins; shared quotes
      take no part.
    - ``max_sells > 1``: walking the ranked shared quotes, the first quote of each buyer
      joins the shared set until it holds ``max_sells``. If there are exclusive quotes too,
      the lead goes exclusive when the first-ranked exclusive price is strictly greater than
      the shared set's total (or when there is no shared set); a tie goes shared.

    With no quote of a usable leg the selection is empty (``leg`` None, revenue 0.00).
    Raises ``ValueError`` if ``max_sells < 1``.
    """
    if max_sells < 1:
        raise ValueError(f"max_sells must be at least 1, got {max_sells}")
    exclusive = rank([q for q in quotes if q.leg is Leg.EXCLUSIVE], rank_by, seed)
    best_exclusive = [0] if exclusive else []
    if max_sells == 1:
        return _selection(Leg.EXCLUSIVE, best_exclusive, exclusive)
    shared = rank([q for q in quotes if q.leg is Leg.SHARED], rank_by, seed)
    chosen = _distinct_buyers(shared, max_sells)
    shared_total = _total([shared[i] for i in chosen])
    if exclusive and (not chosen or exclusive[0].price > shared_total):
        return _selection(Leg.EXCLUSIVE, best_exclusive, exclusive)
    return _selection(Leg.SHARED, chosen, shared)


def _distinct_buyers(ranked: list[Quote], limit: int) -> list[int]:
    """Positions in ``ranked`` of the first quote of each buyer, at most ``limit``."""
    chosen: list[int] = []
    buyers: set[str] = set()
    for i, quote in enumerate(ranked):
        if len(chosen) == limit:
            break
        if quote.buyer_id not in buyers:
            buyers.add(quote.buyer_id)
            chosen.append(i)
    return chosen


def _selection(leg: Leg, chosen: list[int], ranked: list[Quote]) -> Selection:
    if not chosen:
        return Selection(leg=None, winners=(), ranking=(), revenue=_ZERO)
    winners = tuple(ranked[i] for i in chosen)
    taken = set(chosen)
    rest = (quote for i, quote in enumerate(ranked) if i not in taken)
    return Selection(leg=leg, winners=winners, ranking=(*winners, *rest), revenue=_total(winners))


def _total(quotes: Sequence[Quote]) -> Decimal:
    return sum((q.price for q in quotes), _ZERO)


def payout_for(model: PayoutModel, value: Decimal, revenue: Decimal) -> Decimal:
    """The seller's payout for a lead sold for ``revenue``.

    ``REVENUE_SHARE``: ``revenue × value ÷ 100`` rounded down to the cent (``value`` is a
    percent). ``FIXED``: ``value``, the fixed payout per lead, whatever the revenue.
    Raises ``ValueError`` if the result is not finite.
    """
    if model is PayoutModel.REVENUE_SHARE:
        return quantize_down(revenue * value / 100)
    return quantize_down(value)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a ping gets a bid, and the money of it."""

    accepted: bool
    #: empty when accepted; otherwise every failing ping option (or ``NO_ELIGIBLE_BUYERS``)
    reasons: tuple[Reason, ...]
    revenue: Decimal
    #: the seller's payout: the ``bid`` answered to the supplier
    payout: Decimal
    profit: Decimal


def decide(campaign: Campaign, selection: Selection, eligible_buyers: int) -> Decision:
    """Apply the campaign's ping options to a selection.

    Nothing selected: rejected with ``NO_ELIGIBLE_BUYERS`` (and zero money). Otherwise the
    payout is :func:`payout_for` the selection's revenue, profit = revenue − payout, and the
    reasons are every failing option of :func:`sale_failures`, then ``TOO_FEW_BUYERS``
    when ``eligible_buyers`` (distinct buyers with a usable price) < ``min_buyers``. The
    money is filled in even when rejected, for the trace.
    """
    if selection.leg is None or not selection.winners:
        return Decision(False, (Reason.NO_ELIGIBLE_BUYERS,), _ZERO, _ZERO, _ZERO)
    revenue = selection.revenue
    payout = payout_for(campaign.payout_model, campaign.payout_value, revenue)
    reasons = list(sale_failures(campaign.ping_options, revenue, payout))
    if eligible_buyers < campaign.ping_options.min_buyers:
        reasons.append(Reason.TOO_FEW_BUYERS)
    return Decision(
        accepted=not reasons,
        reasons=tuple(reasons),
        revenue=revenue,
        payout=payout,
        profit=revenue - payout,
    )


def sale_failures(options: PingOptions, revenue: Decimal, payout: Decimal) -> tuple[Reason, ...]:
    """The money ping options a sale at ``revenue`` paying ``payout`` fails, in this order:

    ``BELOW_MIN_REVENUE`` (revenue < min_revenue), ``BELOW_MIN_PROFIT`` (revenue − payout <
    min_profit; 0 by default: no sale at a loss), ``BELOW_MIN_PROFIT_PERCENT`` when that
    option is set (profit ÷ revenue × 100 < it; always failing on zero revenue). Empty when
    all hold. Used by :func:`decide` at ping and again for a fallback sale at post.
    """
    reasons: list[Reason] = []
    profit = revenue - payout
    if revenue < options.min_revenue:
        reasons.append(Reason.BELOW_MIN_REVENUE)
    if profit < options.min_profit:
        reasons.append(Reason.BELOW_MIN_PROFIT)
    minimum_percent = options.min_profit_percent
    # profit × 100 ≥ percent × revenue: the same test as the percentage, without dividing
    if minimum_percent is not None and (revenue <= 0 or profit * 100 < minimum_percent * revenue):
        reasons.append(Reason.BELOW_MIN_PROFIT_PERCENT)
    return tuple(reasons)


def split_payout(payout: Decimal, revenues: Sequence[Decimal]) -> list[Decimal]:
    """``payout`` split over the sales in proportion to their revenues, to the cent.

    Largest remainder (see :func:`~pingtree.domain.money.split_proportionally`): the parts
    sum exactly to ``payout``, in the order of ``revenues``. Raises ``ValueError`` as it does.
    """
    return split_proportionally(payout, revenues)


def realized_payout(
    campaign: Campaign, realized_revenue: Decimal, quoted_payout: Decimal
) -> Decimal:
    """The payout for what was actually sold at post: :func:`payout_for` the realized
    revenue, never more than ``quoted_payout`` (the ping's bid is a ceiling), and 0.00 when
    nothing was sold (``realized_revenue`` ≤ 0).
    """
    if realized_revenue <= 0:
        return _ZERO
    payout = payout_for(campaign.payout_model, campaign.payout_value, realized_revenue)
    return min(payout, quantize_down(quoted_payout))
