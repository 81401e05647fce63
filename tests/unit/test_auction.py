"""The auction: ranking, selection, ping options and the payout."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingtree.domain.auction import (
    Decision,
    Quote,
    Selection,
    decide,
    payout_for,
    rank,
    realized_payout,
    sale_failures,
    select,
    split_payout,
)
from pingtree.domain.campaigns import Campaign, PayoutModel, PingOptions, RankBy
from pingtree.domain.orders import Leg
from pingtree.domain.outcomes import Reason

D = Decimal
EX = Leg.EXCLUSIVE
SH = Leg.SHARED


def q(
    order_id: str,
    price: str,
    *,
    buyer: str | None = None,
    leg: Leg = EX,
    priority: int = 100,
    weight: int = 1,
) -> Quote:
    return Quote(order_id, buyer or f"b-{order_id}", leg, D(price), priority, weight)


def ids(quotes: Sequence[Quote]) -> list[str]:
    return [quote.order_id for quote in quotes]


def campaign(
    *,
    model: PayoutModel = PayoutModel.REVENUE_SHARE,
    value: str = "70",
    options: PingOptions | None = None,
    max_sells: int = 1,
) -> Campaign:
    return Campaign(
        id="c-1",
        supplier_id="s-1",
        vertical_id="auto",
        name="Campaign",
        modes=frozenset({"ping_post"}),
        payout_model=model,
        payout_value=D(value),
        ping_options=options or PingOptions(),
        max_sells=max_sells,
    )


# --- rank ----------------------------------------------------------------------------------


def test_rank_by_price_then_priority() -> None:
    quotes = [
        q("cheap", "10.00", priority=1),
        q("dear", "30.00", priority=200),
        q("mid-late", "20.00", priority=50),
        q("mid-first", "20.00", priority=5),
    ]
    assert ids(rank(quotes, RankBy.PRICE, "p-1")) == ["dear", "mid-first", "mid-late", "cheap"]


def test_rank_by_priority_tiers_then_price() -> None:
    quotes = [
        q("cheap-gold", "10.00", priority=1),
        q("dear", "30.00", priority=200),
        q("rich-gold", "20.00", priority=1),
        q("silver", "25.00", priority=50),
    ]
    ranked = rank(quotes, RankBy.PRIORITY, "p-1")
    assert ids(ranked) == ["rich-gold", "cheap-gold", "silver", "dear"]


def test_rank_of_nothing() -> None:
    assert rank([], RankBy.PRICE, "p-1") == []


def test_equal_prices_of_different_spelling_are_equals() -> None:
    quotes = [q("a", "10.0"), q("b", "10.00"), q("c", "9.99")]
    ranked = rank(quotes, RankBy.PRICE, "p-1")
    assert set(ids(ranked[:2])) == {"a", "b"}
    assert ranked[2].order_id == "c"


def test_the_weighted_draw_follows_the_weights() -> None:
    quotes = [q("heavy", "10.00", weight=3), q("light", "10.00", weight=1)]
    firsts = Counter(rank(quotes, RankBy.PRICE, f"ping-{i}")[0].order_id for i in range(4000))
    # expected 3000 of 4000; the seeds are fixed, so this is not flaky
    assert 2850 < firsts["heavy"] < 3150


def test_the_draw_depends_on_the_seed() -> None:
    quotes = [q(f"o-{i}", "10.00") for i in range(6)]
    orders = {tuple(ids(rank(quotes, RankBy.PRICE, f"ping-{i}"))) for i in range(50)}
    assert len(orders) > 10


def test_zero_weight_comes_after_the_others_among_equals() -> None:
    quotes = [q("zero", "10.00", weight=0), q("one", "10.00"), q("two", "10.00", weight=2)]
    for i in range(50):
        ranked = rank(quotes, RankBy.PRICE, f"ping-{i}")
        assert ranked[-1].order_id == "zero"
    # ...but never ahead of a better price
    assert rank([q("zero", "11.00", weight=0), q("one", "10.00")], RankBy.PRICE, "x")[0].weight == 0


_quotes = st.lists(
    st.builds(
        Quote,
        order_id=st.sampled_from([f"o-{i}" for i in range(8)]),
        buyer_id=st.sampled_from([f"b-{i}" for i in range(5)]),
        leg=st.sampled_from(Leg),
        price=st.sampled_from([D("5.00"), D("10.00"), D("10.00"), D("12.50"), D("30.00")]),
        priority=st.sampled_from([1, 5, 100]),
        weight=st.integers(min_value=0, max_value=5),
    ),
    max_size=12,
)


@given(_quotes, st.sampled_from(RankBy), st.text(max_size=20), st.randoms())
def test_rank_is_deterministic_per_seed_whatever_the_input_order(
    quotes: list[Quote], rank_by: RankBy, seed: str, rnd: random.Random
) -> None:
    ranked = rank(quotes, rank_by, seed)
    shuffled = list(quotes)
    rnd.shuffle(shuffled)
    assert rank(shuffled, rank_by, seed) == ranked
    assert rank(quotes, rank_by, seed) == ranked
    assert Counter(ranked) == Counter(quotes)  # a permutation: nothing lost, nothing added


@given(_quotes, st.sampled_from(RankBy), st.text(max_size=20))
def test_rank_is_sorted_by_the_rule(quotes: list[Quote], rank_by: RankBy, seed: str) -> None:
    ranked = rank(quotes, rank_by, seed)
    for better, worse in itertools.pairwise(ranked):
        if rank_by is RankBy.PRICE:
            assert (better.price, -better.priority) >= (worse.price, -worse.priority)
        else:
            assert (-better.priority, better.price) >= (-worse.priority, worse.price)
        exact_equals = better.price == worse.price and better.priority == worse.priority
        if exact_equals and worse.weight > 0:
            assert better.weight > 0  # zero weights close their tie


# --- select --------------------------------------------------------------------------------


def test_exclusive_best_price_wins() -> None:
    selection = select(
        [q("a", "20.00"), q("b", "35.00"), q("c", "50.00", leg=SH)], 1, RankBy.PRICE, "p"
    )
    assert selection.leg is EX
    assert ids(selection.winners) == ["b"]
    assert ids(selection.ranking) == ["b", "a"]  # shared quotes take no part when max_sells = 1
    assert selection.revenue == D("35.00")


def test_nothing_to_select() -> None:
    empty = Selection(leg=None, winners=(), ranking=(), revenue=D("0.00"))
    assert select([], 1, RankBy.PRICE, "p") == empty
    assert select([q("s", "9.00", leg=SH)], 1, RankBy.PRICE, "p") == empty
    assert select([], 3, RankBy.PRICE, "p") == empty


def test_max_sells_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_sells"):
        select([q("a", "1.00")], 0, RankBy.PRICE, "p")


def test_a_buyer_wins_once_with_its_best_shared_order() -> None:
    quotes = [
        q("acme-1", "20.00", buyer="acme", leg=SH),
        q("acme-2", "18.00", buyer="acme", leg=SH),
        q("zeta", "15.00", buyer="zeta", leg=SH),
        q("kilo", "10.00", buyer="kilo", leg=SH),
        q("yank", "5.00", buyer="yank", leg=SH),
    ]
    selection = select(quotes, 3, RankBy.PRICE, "p")
    assert selection.leg is SH
    assert ids(selection.winners) == ["acme-1", "zeta", "kilo"]
    assert selection.revenue == D("45.00")
    # winners first, then the rest of the ranking for fallback
    assert ids(selection.ranking) == ["acme-1", "zeta", "kilo", "acme-2", "yank"]


def test_exclusive_wins_only_when_strictly_above_the_shared_sum() -> None:
    shared = [q("s1", "20.00", leg=SH), q("s2", "15.00", leg=SH)]
    above = select([*shared, q("x", "35.01")], 2, RankBy.PRICE, "p")
    assert above.leg is EX
    assert ids(above.winners) == ["x"]
    assert above.revenue == D("35.01")
    tie = select([*shared, q("x", "35.00")], 2, RankBy.PRICE, "p")
    assert tie.leg is SH
    assert ids(tie.winners) == ["s1", "s2"]
    assert ids(tie.ranking) == ["s1", "s2"]


def test_exclusive_only_quotes_sell_exclusive_even_when_shared_is_allowed() -> None:
    selection = select([q("x", "12.00"), q("y", "11.00")], 3, RankBy.PRICE, "p")
    assert selection.leg is EX
    assert ids(selection.winners) == ["x"]
    assert ids(selection.ranking) == ["x", "y"]


def test_one_order_may_quote_both_legs() -> None:
    quotes = [
        q("both", "30.00", buyer="acme"),
        q("both", "12.00", buyer="acme", leg=SH),
        q("other", "12.00", buyer="zeta", leg=SH),
        q("third", "10.00", buyer="kilo", leg=SH),
    ]
    selection = select(quotes, 3, RankBy.PRICE, "p")
    assert selection.leg is SH  # 34.00 shared beats 30.00 exclusive
    assert {w.buyer_id for w in selection.winners} == {"acme", "zeta", "kilo"}
    assert selection.revenue == D("34.00")


def test_priority_ranking_picks_tiers_first() -> None:
    quotes = [
        q("gold", "10.00", priority=1, leg=SH),
        q("silver-rich", "40.00", priority=2, leg=SH),
        q("gold-2", "8.00", priority=1, leg=SH),
    ]
    selection = select(quotes, 2, RankBy.PRIORITY, "p")
    assert ids(selection.winners) == ["gold", "gold-2"]
    assert selection.revenue == D("18.00")


def _oracle_shared_sum(quotes: list[Quote], max_sells: int) -> Decimal:
    """Under price ranking: the best ``max_sells`` distinct buyers, each at its best price."""
    best: dict[str, Decimal] = {}
    for quote in quotes:
        if quote.leg is SH:
            best[quote.buyer_id] = max(best.get(quote.buyer_id, D(0)), quote.price)
    return sum(sorted(best.values(), reverse=True)[:max_sells], D("0.00"))


@given(_quotes, st.integers(min_value=1, max_value=4), st.sampled_from(RankBy), st.text())
def test_selection_invariants(
    quotes: list[Quote], max_sells: int, rank_by: RankBy, seed: str
) -> None:
    selection = select(quotes, max_sells, rank_by, seed)
    assert selection == select(quotes, max_sells, rank_by, seed)
    winners = selection.winners
    buyers = [w.buyer_id for w in winners]
    assert len(buyers) == len(set(buyers))  # a buyer wins at most once
    assert len(winners) <= max_sells
    assert selection.revenue == sum((w.price for w in winners), D(0))
    if selection.leg is None:
        assert winners == ()
        assert selection.ranking == ()
        usable = [x for x in quotes if max_sells > 1 or x.leg is EX]
        assert usable == []
        return
    assert winners
    assert all(w.leg is selection.leg for w in winners)
    assert selection.ranking[: len(winners)] == winners
    leg_quotes = [x for x in quotes if x.leg is selection.leg]
    assert Counter(selection.ranking) == Counter(leg_quotes)
    if selection.leg is EX:
        assert len(winners) == 1
        assert winners[0] == rank(leg_quotes, rank_by, seed)[0]


@given(_quotes, st.integers(min_value=2, max_value=4), st.text())
def test_exclusive_versus_shared_rule(quotes: list[Quote], max_sells: int, seed: str) -> None:
    selection = select(quotes, max_sells, RankBy.PRICE, seed)
    exclusive = [x.price for x in quotes if x.leg is EX]
    shared_sum = _oracle_shared_sum(quotes, max_sells)
    has_shared = any(x.leg is SH for x in quotes)
    if exclusive and (not has_shared or max(exclusive) > shared_sum):
        assert selection.leg is EX
        assert selection.revenue == max(exclusive)
    elif has_shared:
        assert selection.leg is SH
        assert selection.revenue == shared_sum
        assert len(selection.winners) == min(
            max_sells, len({x.buyer_id for x in quotes if x.leg is SH})
        )
    else:
        assert selection.leg is None


@given(_quotes, st.text())
def test_max_sells_one_never_sells_shared(quotes: list[Quote], seed: str) -> None:
    selection = select(quotes, 1, RankBy.PRICE, seed)
    assert selection.leg in (EX, None)
    exclusive = [x.price for x in quotes if x.leg is EX]
    assert selection.revenue == (max(exclusive) if exclusive else D(0))


# --- payout --------------------------------------------------------------------------------


def test_payout_revenue_share_rounds_down() -> None:
    assert payout_for(PayoutModel.REVENUE_SHARE, D("70"), D("10.00")) == D("7.00")
    assert payout_for(PayoutModel.REVENUE_SHARE, D("33.3"), D("10.01")) == D("3.33")  # 3.33333
    assert payout_for(PayoutModel.REVENUE_SHARE, D("65"), D("0.99")) == D("0.64")  # 0.6435
    assert payout_for(PayoutModel.REVENUE_SHARE, D("0"), D("50.00")) == D("0.00")


def test_payout_fixed_is_the_value() -> None:
    assert payout_for(PayoutModel.FIXED, D("12.50"), D("40.00")) == D("12.50")
    assert payout_for(PayoutModel.FIXED, D("12.50"), D("5.00")) == D("12.50")


@given(
    st.decimals(min_value=0, max_value=100, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
)
def test_revenue_share_payout_is_cents_and_never_above_the_exact_share(
    percent: Decimal, revenue: Decimal
) -> None:
    payout = payout_for(PayoutModel.REVENUE_SHARE, percent, revenue)
    exact = revenue * percent / 100
    assert payout == payout.quantize(D("0.01"))
    assert payout <= exact < payout + D("0.01")


# --- decide --------------------------------------------------------------------------------


def selection_of(*winners: Quote) -> Selection:
    return Selection(
        leg=winners[0].leg if winners else None,
        winners=winners,
        ranking=winners,
        revenue=sum((w.price for w in winners), D("0.00")),
    )


def test_accepted_with_the_money() -> None:
    decision = decide(campaign(), selection_of(q("a", "40.00")), eligible_buyers=3)
    assert decision == Decision(
        accepted=True, reasons=(), revenue=D("40.00"), payout=D("28.00"), profit=D("12.00")
    )


def test_nothing_selected_is_no_eligible_buyers() -> None:
    empty = Selection(leg=None, winners=(), ranking=(), revenue=D("0.00"))
    decision = decide(campaign(), empty, eligible_buyers=0)
    assert not decision.accepted
    assert decision.reasons == (Reason.NO_ELIGIBLE_BUYERS,)
    assert decision.payout == D("0.00")


def test_no_sale_at_a_loss_by_default() -> None:
    fixed = campaign(model=PayoutModel.FIXED, value="15.00")
    loss = decide(fixed, selection_of(q("a", "14.99")), eligible_buyers=1)
    assert loss.reasons == (Reason.BELOW_MIN_PROFIT,)
    assert loss.profit == D("-0.01")
    assert loss.payout == D("15.00")
    even = decide(fixed, selection_of(q("a", "15.00")), eligible_buyers=1)
    assert even.accepted


def test_every_failing_option_is_reported() -> None:
    options = PingOptions(
        min_revenue=D("20.00"),
        min_profit=D("5.00"),
        min_profit_percent=D("40"),
        min_buyers=2,
    )
    decision = decide(campaign(options=options), selection_of(q("a", "10.00")), eligible_buyers=1)
    assert not decision.accepted
    assert decision.reasons == (
        Reason.BELOW_MIN_REVENUE,
        Reason.BELOW_MIN_PROFIT,
        Reason.BELOW_MIN_PROFIT_PERCENT,
        Reason.TOO_FEW_BUYERS,
    )
    assert (decision.revenue, decision.payout, decision.profit) == (
        D("10.00"),
        D("7.00"),
        D("3.00"),
    )


def test_options_at_their_bounds_pass() -> None:
    # revenue 20.00, payout 70% = 14.00, profit 6.00 = 30 %
    options = PingOptions(
        min_revenue=D("20.00"), min_profit=D("6.00"), min_profit_percent=D("30"), min_buyers=2
    )
    decision = decide(campaign(options=options), selection_of(q("a", "20.00")), eligible_buyers=2)
    assert decision.accepted
    stricter = PingOptions(min_profit_percent=D("30.01"))
    decision = decide(campaign(options=stricter), selection_of(q("a", "20.00")), eligible_buyers=1)
    assert decision.reasons == (Reason.BELOW_MIN_PROFIT_PERCENT,)


def test_shared_revenue_is_the_sum_of_the_legs() -> None:
    shared = selection_of(q("a", "12.00", leg=SH), q("b", "8.00", leg=SH))
    decision = decide(campaign(max_sells=3, options=PingOptions(min_revenue=D("20.00"))), shared, 2)
    assert decision.accepted
    assert decision.revenue == D("20.00")
    assert decision.payout == D("14.00")


def test_sale_failures_on_zero_revenue() -> None:
    assert sale_failures(PingOptions(min_profit_percent=D("0")), D("0.00"), D("0.00")) == (
        Reason.BELOW_MIN_PROFIT_PERCENT,
    )
    assert sale_failures(PingOptions(), D("0.00"), D("0.00")) == ()


@given(
    st.decimals(min_value=D("0.01"), max_value=10**4, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=100, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=100, places=2, allow_nan=False),
)
def test_profit_percent_check_matches_the_division(
    revenue: Decimal, share: Decimal, minimum: Decimal
) -> None:
    payout = payout_for(PayoutModel.REVENUE_SHARE, share, revenue)
    failures = sale_failures(PingOptions(min_profit_percent=minimum), revenue, payout)
    percent = (revenue - payout) / revenue * 100
    assert (Reason.BELOW_MIN_PROFIT_PERCENT in failures) == (percent < minimum)


# --- split and realized payout -------------------------------------------------------------


def test_split_payout_in_proportion_to_revenue() -> None:
    assert split_payout(D("14.00"), [D("12.00"), D("8.00")]) == [D("8.40"), D("5.60")]
    assert split_payout(D("10.00"), [D("10.00"), D("10.00"), D("10.00")]) == [
        D("3.34"),
        D("3.33"),
        D("3.33"),
    ]


@given(
    st.integers(min_value=0, max_value=10**7),
    st.lists(
        st.decimals(min_value=D("0.01"), max_value=10**4, places=2, allow_nan=False),
        min_size=1,
        max_size=5,
    ),
)
def test_split_payout_sums_to_the_payout(cents: int, revenues: list[Decimal]) -> None:
    payout = D(cents) / 100
    parts = split_payout(payout, revenues)
    assert sum(parts, D(0)) == payout


def test_realized_payout_on_a_cheaper_fallback_is_lower() -> None:
    share = campaign()  # 70 %
    assert realized_payout(share, D("30.00"), quoted_payout=D("28.00")) == D("21.00")


def test_realized_payout_never_exceeds_the_quote() -> None:
    share = campaign()
    assert realized_payout(share, D("50.00"), quoted_payout=D("28.00")) == D("28.00")
    fixed = campaign(model=PayoutModel.FIXED, value="15.00")
    assert realized_payout(fixed, D("40.00"), quoted_payout=D("15.00")) == D("15.00")
    assert realized_payout(fixed, D("40.00"), quoted_payout=D("10.00")) == D("10.00")


def test_nothing_sold_pays_nothing() -> None:
    assert realized_payout(campaign(), D("0.00"), D("28.00")) == D("0.00")
    fixed = campaign(model=PayoutModel.FIXED, value="15.00")
    assert realized_payout(fixed, D("0.00"), D("15.00")) == D("0.00")


@given(
    st.decimals(min_value=0, max_value=10**4, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=10**4, places=2, allow_nan=False),
)
def test_realized_payout_is_capped_by_the_quote(realized: Decimal, quoted_revenue: Decimal) -> None:
    share = campaign()
    quoted = payout_for(share.payout_model, share.payout_value, quoted_revenue)
    payout = realized_payout(share, realized, quoted)
    assert payout <= quoted
    assert payout <= payout_for(share.payout_model, share.payout_value, realized)
    assert payout >= 0
