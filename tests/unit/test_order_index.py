"""The indexed walk against the full scan (issue 18): on random configurations and leads,
the walk reaches the same winners and decision, its ranking is the full scan's cut at a
rank boundary, and the trace, once opened, has the full scan's line for every order (an
order the walk stopped before is told as not reached)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingtree.config.compile import compile_config
from pingtree.config.parse import parse_config
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.domain.auction import Quote
from pingtree.domain.campaigns import RankBy
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.filter_rules import FieldGate
from pingtree.domain.order_index import NOT_REACHED, OrderIndex, RankKey, rank_key, why_not
from pingtree.domain.orders import Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.verticals import LeadValue
from pingtree.flows.auction import AuctionResult, run_auction
from pingtree.flows.ports import BidResult
from pingtree.store.snapshot import Snapshot

STATES = ["FL", "GA", "TX", "CA"]
CREDIT = ["excellent", "good", "fair", "poor"]
#: a Monday, 15:00 UTC: 10:00 in New York
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)

VERTICAL: dict[str, Any] = {
    "id": "auto",
    "name": "Auto",
    "fields": [
        {"name": "state", "type": "state"},
        {"name": "zip", "type": "zip"},
        {"name": "age", "type": "integer"},
        {"name": "credit", "type": "enum", "values": CREDIT},
    ],
}

#: a bid order's ping step: never sent (the test's ``Bids`` answers for the buyer)
PING_STEP = {
    "url": "http://127.0.0.1:9/ping",
    "content_type": "json",
    "body": {"fields": [{"from": "state", "to": "state"}]},
    "response": {"bid": {"json": "$.price"}},
}

prices = st.sampled_from(["5.00", "10.00", "10.00", "12.50", "20.00", "20.00", "33.00"])

conditions = st.one_of(
    st.builds(
        lambda s: {"field": "state", "op": "in", "value": s},
        st.lists(st.sampled_from(STATES), min_size=1, max_size=3, unique=True),
    ),
    st.builds(lambda s: {"field": "state", "op": "eq", "value": s}, st.sampled_from(STATES)),
    st.builds(
        lambda lo, span: {"field": "age", "op": "between", "value": [lo, lo + span]},
        st.integers(18, 60),
        st.integers(0, 30),
    ),
    st.builds(
        lambda op, v: {"field": "age", "op": op, "value": v},
        st.sampled_from(["gt", "gte", "lt", "lte", "eq"]),
        st.integers(18, 70),
    ),
    st.builds(
        lambda c: {"field": "credit", "op": "in", "value": c},
        st.lists(st.sampled_from(CREDIT), min_size=1, max_size=3, unique=True),
    ),
    st.builds(
        lambda p: {"field": "zip", "op": "starts_with", "value": p},
        st.lists(st.sampled_from(["3", "33", "331", "90", "7"]), min_size=1, max_size=2),
    ),
    st.builds(lambda v: {"field": "age", "op": "ne", "value": v}, st.integers(18, 70)),
)

filters = st.one_of(
    st.none(),
    st.builds(lambda items: {"all": items}, st.lists(conditions, min_size=1, max_size=3)),
    st.builds(
        lambda items, inner: {"all": [*items, {"any": inner}]},
        st.lists(conditions, max_size=2),
        st.lists(conditions, min_size=1, max_size=2),
    ),
)


@st.composite
def order_specs(draw: st.DrawFn, order_id: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": order_id, "name": order_id, "vertical": "auto"}
    pricing: dict[str, Any] = {"type": "fixed"}
    legs = draw(st.sampled_from(["exclusive", "shared", "both"]))
    if draw(st.integers(0, 5)) == 0:  # a bid order: asked per lead (``Bids`` below)
        pricing = {"type": "bid", "legs": ["exclusive", "shared"]}
        spec["delivery"] = {
            "ping": PING_STEP,
            "post": {**PING_STEP, "url": "http://127.0.0.1:9/post"},
        }
    else:
        if legs in ("exclusive", "both"):
            pricing["exclusive"] = draw(prices)
        if legs in ("shared", "both"):
            pricing["shared"] = draw(prices)
    spec["pricing"] = pricing
    spec["priority"] = draw(st.integers(1, 3))
    spec["weight"] = draw(st.integers(1, 3))
    found = draw(filters)
    if found is not None:
        spec["filters"] = found
    if draw(st.integers(0, 9)) == 0:
        spec["status"] = "paused"
    if draw(st.integers(0, 9)) == 0:
        spec["test_mode"] = True
    if draw(st.integers(0, 7)) == 0:  # open 09:00-17:00 in New York, or closed now
        hours = draw(st.sampled_from(["09:00-17:00", "18:00-23:00"]))
        spec["schedule"] = {"timezone": "America/New_York", "hours": {"daily": [hours]}}
    return spec


@st.composite
def markets(draw: st.DrawFn) -> dict[str, Any]:
    buyers = []
    for b in range(draw(st.integers(1, 10))):
        orders = [draw(order_specs(f"b{b}-o{o}")) for o in range(draw(st.integers(1, 4)))]
        spec: dict[str, Any] = {"id": f"buyer-{b}", "name": f"Buyer {b}", "orders": orders}
        if draw(st.integers(0, 9)) == 0:
            spec["active"] = False
        buyers.append(spec)
    campaign = {
        "id": "camp",
        "name": "camp",
        "vertical": "auto",
        "modes": ["ping_post", "direct_post"],
        "payout": {"model": "revenue_share", "percent": 70},
        "max_sells": draw(st.integers(1, 3)),
        "rank_by": draw(st.sampled_from(["price", "priority"])),
        "ping_options": {
            "min_buyers": draw(st.integers(1, 4)),
            "qualify_all_criteria": draw(st.booleans()),
        },
    }
    return {
        "verticals": [VERTICAL],
        "suppliers": [{"id": "s", "name": "S", "campaigns": [campaign]}],
        "buyers": buyers,
    }


leads = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(STATES),
        "zip": st.sampled_from(["33101", "90210", "73301", "30301"]),
        "age": st.integers(16, 80),
        "credit": st.sampled_from(CREDIT),
    },
)


class Bids:
    """Each bid order bids a price of its own (or no bid), the same on every call."""

    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> Sequence[BidResult]:
        answers = []
        for order in orders:
            cents = sum(order.id.encode()) % 40 * 100
            answers.append(
                BidResult(order.id, Outcome.BID, price=Decimal(cents) / 100)
                if cents
                else BidResult(order.id, Outcome.NO_BID, reason="no offer")
            )
        return answers


def _ranked_to(quotes: Sequence[Quote], rule: RankBy, cut: RankKey | None) -> list[Quote]:
    return [q for q in quotes if cut is None or rank_key(q.price, q.priority, rule) <= cut]


async def _auction(
    snapshot: Snapshot, values: dict[str, LeadValue], test: bool, full: set[str], depth: int | None
) -> AuctionResult:
    campaign = snapshot.config.campaigns["camp"]
    lead = LeadContext(
        values=values,
        test=test,
        now=NOW,
        qualify_all=campaign.ping_options.qualify_all_criteria,
        legs=legs_offered(campaign.max_sells),
    )

    def cap_check(order: Order) -> Outcome | None:
        return Outcome.CAP if order.id in full else None

    return await run_auction(
        snapshot,
        campaign,
        lead,
        seed="ping-1",
        cap_check=cap_check,
        bids=Bids(),
        deadline=time.monotonic() + 1,
        walk_depth=depth,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    market=markets(),
    values=leads,
    test=st.booleans(),
    depth=st.sampled_from([0, 0, 0, 1, 2, 20]),
    data=st.data(),
)
async def test_the_walk_decides_as_the_full_scan(
    market: dict[str, Any], values: dict[str, LeadValue], test: bool, depth: int, data: Any
) -> None:
    snapshot = Snapshot.build(1, compile_config(parse_config(market)))
    order_ids = sorted(snapshot.config.orders)
    full_caps = set(data.draw(st.lists(st.sampled_from(order_ids), max_size=3)))
    full = await _auction(snapshot, values, test, full_caps, None)
    walked = await _auction(snapshot, values, test, full_caps, depth)

    assert walked.selection.leg == full.selection.leg
    assert walked.selection.winners == full.selection.winners
    assert walked.decision == full.decision
    ranking = walked.selection.ranking
    campaign = snapshot.config.campaigns["camp"]
    # the ranking is the full scan's down to the last rank the walk took whole (the bids
    # below it come after it in both)
    fixed = {o.id for o in snapshot.config.orders.values() if not o.pricing.asked_per_lead}
    taken = [q for q in ranking if q.order_id in fixed]
    cut = None
    if len(taken) < len([q for q in full.selection.ranking if q.order_id in fixed]):
        cut = max(rank_key(q.price, q.priority, campaign.rank_by) for q in taken)
    assert _ranked_to(ranking, campaign.rank_by, cut) == _ranked_to(
        full.selection.ranking, campaign.rank_by, cut
    )
    wanted = max(campaign.ping_options.min_buyers, campaign.max_sells) + depth
    assert walked.eligible_buyers >= min(full.eligible_buyers, wanted)
    assert walked.eligible_buyers <= full.eligible_buyers

    # the trace, opened: one line per order, the full scan's (or "not reached")
    assert walked.walked is not None
    lead = LeadContext(
        values,
        test,
        NOW,
        campaign.ping_options.qualify_all_criteria,
        legs_offered(campaign.max_sells),
    )
    met = [c.order_id for c in walked.candidates]
    assert len(met) == len(set(met))
    rest = why_not(snapshot.candidate_orders("auto", test), snapshot.config.buyers, lead, met)
    opened = {c.order_id: c for c in [*walked.candidates, *rest]}
    assert len(opened) == len(walked.candidates) + len(rest)
    scanned = {c.order_id: c for c in full.candidates}
    assert opened.keys() == scanned.keys()
    for order_id, line in opened.items():
        if line.reason == NOT_REACHED:
            assert scanned[order_id].outcome in (Outcome.FIXED, Outcome.CAP)
            assert all(q.order_id != order_id for q in ranking)
            assert order_id in fixed
        else:
            assert line == scanned[order_id]


def test_gates_admit_what_the_filter_may_pass() -> None:
    """The masks of a value: a range's ends, open and closed, and prefixes of a zip."""
    doc = {
        "verticals": [VERTICAL],
        "suppliers": [],
        "buyers": [
            {
                "id": "b",
                "name": "b",
                "orders": [
                    {
                        "id": "adults",
                        "vertical": "auto",
                        "pricing": {"type": "fixed", "exclusive": "10.00"},
                        "filters": {
                            "all": [
                                {"field": "age", "op": "gte", "value": 18},
                                {"field": "age", "op": "lt", "value": 65},
                            ]
                        },
                    },
                    {
                        "id": "miami",
                        "vertical": "auto",
                        "pricing": {"type": "fixed", "exclusive": "9.00"},
                        "geo": {"zip_prefixes": ["331"]},
                    },
                    {
                        "id": "anyone",
                        "vertical": "auto",
                        "pricing": {"type": "fixed", "exclusive": "8.00"},
                    },
                ],
            }
        ],
    }
    config = compile_config(parse_config(doc))
    assert config.orders["adults"].gates == (FieldGate("age", low=18, high=65, high_open=True),)
    assert config.orders["miami"].gates == (FieldGate("zip", prefixes=frozenset({"331"})),)
    index = OrderIndex.build(config.orders.values(), config.buyers)
    ranked = next(iter(index.fixed.values()))

    def admitted(values: dict[str, LeadValue]) -> set[str]:
        mask = ranked.admitted(values)
        return {e.order.id for i, e in enumerate(ranked.entries) if mask >> i & 1}

    assert admitted({"age": 17, "zip": "33101"}) == {"miami", "anyone"}
    assert admitted({"age": 18, "zip": "33201"}) == {"adults", "anyone"}
    assert admitted({"age": 64}) == {"adults", "miami", "anyone"}
    assert admitted({"age": 65, "zip": "33100"}) == {"miami", "anyone"}
