"""The replay's rules (issue 17, ``flows.replay``), in-process on stored pings made by
hand: caps simulated in order (only posted pings take room, windows by the order's
calendar), stored bids judged again by the configuration's floor and max_bid, an order
never asked is unknown, and the same seed gives the same draw among equals."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pingtree.config.compile import compile_config
from pingtree.config.parse import parse_config
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.domain.auction import Quote
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.fields import values_from_json
from pingtree.domain.orders import Leg, Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.verticals import LeadValue
from pingtree.flows.auction import run_auction
from pingtree.flows.ports import BidResult
from pingtree.flows.replay import UNKNOWN, CapSimulation, Replayed, replay_ping
from pingtree.store.replay_pings import StoredPing
from pingtree.store.snapshot import Snapshot
from tests.api.market import buyer, campaign, marketplace, order

#: Monday 23 November 2026, 10:00 in New York
MORNING = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
FIELDS = {"zip": "33101", "state": "FL", "age": 34}


#: a ping step no replay calls (nothing listens there)
NEVER_CALLED = {
    "ping": {
        "url": "http://127.0.0.1:9/ping",
        "content_type": "json",
        "body": {"fields": [{"from": "zip", "to": "zip"}]},
        "response": {"bid": {"json": "$.price"}},
    },
    "post": {"same_as": "ping", "url": "http://127.0.0.1:9/post"},
}


def bid_order(order_id: str, **pricing: Any) -> dict[str, Any]:
    return order(order_id, None, pricing={"type": "bid", **pricing}, delivery=NEVER_CALLED)


def snapshot(*buyers: dict[str, Any]) -> Snapshot:
    return Snapshot.build(1, compile_config(parse_config(marketplace(list(buyers)))))


def ping(
    n: int, at: dt.datetime, *, posted: bool = True, lines: list[Any] | None = None
) -> StoredPing:
    return StoredPing(
        id=f"ping-{n:03d}",
        campaign_id="acme_auto",
        status="accepted",
        reasons=[],
        fields=dict(FIELDS),
        auction={"candidates": lines or []},
        created_at=at,
        posted=posted,
    )


def winners(shot: Snapshot, pings: list[StoredPing]) -> list[list[str]]:
    caps = CapSimulation(shot)

    async def run() -> list[Replayed]:
        return [await replay_ping(shot, p, caps) for p in pings]

    return [[w[0] for w in r.winners] for r in asyncio.run(run())]


def test_caps_are_taken_by_the_posted_winners_in_order_and_refill_with_the_day() -> None:
    capped = order("capped", "30.00", caps=[{"kind": "count", "window": "day", "limit": 2}])
    shot = snapshot(buyer("top", capped), buyer("next", order("next", "20.00")))
    minute = dt.timedelta(minutes=1)
    pings = [
        ping(0, MORNING),
        ping(1, MORNING + minute, posted=False),  # won, never posted: takes no room
        ping(2, MORNING + 2 * minute),
        ping(3, MORNING + 3 * minute),  # the day's two are taken
        ping(4, MORNING + dt.timedelta(days=1)),  # a new day in New York
    ]
    assert winners(shot, pings) == [["capped"], ["capped"], ["capped"], ["next"], ["capped"]]


def test_a_stored_bid_is_judged_again_by_the_configurations_floor_and_max_bid() -> None:
    def bidder(**pricing: str) -> dict[str, Any]:
        return buyer("bidder", bid_order("live", **pricing))

    stored = [["live", "bidder", "bid", "", "28.00", 90]]
    fixed = buyer("steady", order("steady", "25.00"))
    as_stored = ping(0, MORNING, lines=stored)
    assert winners(snapshot(bidder(), fixed), [as_stored]) == [["live"]]
    assert winners(snapshot(bidder(floor="30.00"), fixed), [as_stored]) == [["steady"]]
    assert winners(snapshot(bidder(max_bid="27.00"), fixed), [as_stored]) == [["steady"]]
    # a bid under the old floor is a price the buyer gave: a lower floor takes it
    under = ping(
        1, MORNING, lines=[["live", "bidder", "below_floor", "below floor 30", "28.00", 90]]
    )
    assert winners(snapshot(bidder(floor="20.00"), fixed), [under]) == [["live"]]


def test_an_order_the_stored_ping_never_asked_is_unknown() -> None:
    newcomer = buyer("new", bid_order("fresh"))
    shot = snapshot(newcomer, buyer("steady", order("steady", "25.00")))
    caps = CapSimulation(shot)
    replayed = asyncio.run(replay_ping(shot, ping(0, MORNING), caps))
    assert replayed.unknown == ("fresh",)
    lines = {c.order_id: c for c in replayed.result.candidates} if replayed.result else {}
    assert (str(lines["fresh"].outcome), lines["fresh"].reason) == ("no_bid", UNKNOWN)
    assert [w[0] for w in replayed.winners] == ["steady"]


def test_the_draw_among_equals_is_the_pings_own_seed() -> None:
    shot = snapshot(*(buyer(f"b{i}", order(f"o{i}", "20.00")) for i in range(5)))
    pings = [ping(n, MORNING) for n in range(20)]
    first, again = winners(shot, pings), winners(shot, pings)
    assert first == again
    assert len({tuple(w) for w in first}) > 1  # the seeds do draw different equals


def test_a_fixed_price_is_no_bid_when_the_draft_makes_the_order_bid() -> None:
    stored = ping(0, MORNING, lines=[["steady", "steady", "fixed", "", "25.00", None]])
    shot = snapshot(buyer("steady", bid_order("steady")), buyer("other", order("other", "10.00")))
    replayed = asyncio.run(replay_ping(shot, stored, CapSimulation(shot)))
    assert replayed.unknown == ("steady",)
    assert [w[0] for w in replayed.winners] == ["other"]


class MultiLegBidder:
    """A multi-leg bidder's answer (bid_exclusive 30.00, bid_shared 12.00) as the ping
    step reads it (``flows.ports.BidSource``); no network."""

    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> Sequence[BidResult]:
        legs = {Leg.EXCLUSIVE: Decimal("30.00"), Leg.SHARED: Decimal("12.00")}
        return [
            BidResult(o.id, Outcome.BID, price=Decimal("30.00"), latency_ms=5, leg_prices=legs)
            for o in orders
        ]


def shared_market(**multi: str) -> Snapshot:
    config = marketplace(
        [
            buyer("multi", bid_order("multi", legs=["exclusive", "shared"], **multi)),
            buyer(
                "a",
                order("a", None, pricing={"type": "fixed", "exclusive": "25.00", "shared": "9.00"}),
            ),
            buyer("b", order("b", None, pricing={"type": "fixed", "shared": "8.00"})),
        ],
        [campaign(max_sells=3)],
    )
    return Snapshot.build(1, compile_config(parse_config(config)))


def test_a_multi_leg_bid_replays_at_each_legs_own_price() -> None:
    live = shared_market()
    values = values_from_json(live.config.verticals["auto"], FIELDS)
    result = asyncio.run(
        run_auction(
            live,
            live.config.campaigns["acme_auto"],
            LeadContext(values, False, MORNING, False, legs_offered(3)),
            seed="ping-000",
            cap_check=lambda order: None,
            bids=MultiLegBidder(),
            deadline=time.monotonic() + 60,
        )
    )
    # exclusive 30.00 beats the shared set's 12.00 + 9.00 + 8.00
    assert [(q.order_id, str(q.leg), q.price) for q in result.selection.winners] == [
        ("multi", "exclusive", Decimal("30.00"))
    ]
    auction = result.to_json()
    assert auction["leg_bids"] == {"multi": {"exclusive": "30.00", "shared": "12.00"}}
    stored = StoredPing(
        "ping-000", "acme_auto", "accepted", [], dict(FIELDS), auction, MORNING, True
    )

    # on the same configuration: the same sale (one price on both legs would sell shared)
    again = asyncio.run(replay_ping(live, stored, CapSimulation(live)))
    assert again.winners == (("multi", "multi", Decimal("30.00")),)
    # a draft's max_bid of 20.00 refuses the exclusive leg only: the shared set wins
    capped = shared_market(max_bid="20.00")
    drafted = asyncio.run(replay_ping(capped, stored, CapSimulation(capped)))
    assert sorted(drafted.winners) == [
        ("a", "a", Decimal("9.00")),
        ("b", "b", Decimal("8.00")),
        ("multi", "multi", Decimal("12.00")),
    ]
    lines = {c.order_id: c for c in drafted.result.candidates} if drafted.result else {}
    assert "exclusive 30.00 above max_bid 20.00" in lines["multi"].reason


def test_the_cap_simulation_reads_each_window_as_it_ends_and_starts() -> None:
    # an hour cap of UTC hours, a day's spend of the order's own calendar (Los Angeles,
    # midnight at 08:00 UTC) and a buyer's weekly budget (New York, from Monday 05:00
    # UTC), checked and charged across their windows' ends, and a moment before the last
    # one read again
    capped = order(
        "capped",
        "30.00",
        timezone="America/Los_Angeles",
        caps=[
            {"kind": "count", "window": "hour", "limit": 1},
            {"kind": "spend", "window": "day", "limit": "50.00"},
        ],
    )
    budget = [{"kind": "count", "window": "week", "limit": 3}]
    shot = snapshot(buyer("top", capped, timezone="America/New_York", budget=budget))
    caps = CapSimulation(shot)
    sale = shot.config.orders["capped"]
    quote = Quote("capped", "top", Leg.EXCLUSIVE, Decimal("30.00"), 100, 1)

    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)

    caps.charge([quote], at(23, 5))  # 21:00 on Sunday in LA, Monday in New York
    assert caps.check(sale, at(23, 5, 30)) is Outcome.CAP  # the hour's one
    assert caps.check(sale, at(23, 6)) is None  # a new UTC hour
    caps.charge([quote], at(23, 6))
    assert caps.check(sale, at(23, 7)) is Outcome.CAP  # 60.00 spent on LA's Sunday
    assert caps.check(sale, at(23, 8)) is None  # midnight in LA
    assert caps.check(sale, at(23, 6, 30)) is Outcome.CAP  # read again, in its own windows
    caps.charge([quote], at(23, 8))
    assert caps.check(sale, at(23, 9)) is Outcome.BUDGET  # New York's week holds three
    assert caps.check(sale, at(30, 5)) is None  # New York's next Monday
