"""Which orders may buy: filters, schedules, caps and budgets, dedup, and the fallback."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from tests.api.market import CONTACT, PING, Market, buyer, marketplace, order

NEW_YORK_9_TO_5 = {"timezone": "America/New_York", "hours": {"daily": ["09:00-17:00"]}}


def test_filters_pick_the_orders(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("fl_only", order("fl", "20.00", geo={"states": ["FL"]})),
                buyer("zip_331", order("miami", "22.00", geo={"zip_prefixes": ["331"]})),
                buyer(
                    "young",
                    order(
                        "young",
                        "30.00",
                        filters={"all": [{"field": "age", "op": "lt", "value": 30}]},
                    ),
                ),
                buyer(
                    "either",
                    order(
                        "either",
                        "25.00",
                        filters={
                            "any": [
                                {"field": "credit", "op": "eq", "value": "excellent"},
                                {"field": "state", "op": "eq", "value": "TX"},
                            ]
                        },
                    ),
                ),
            ]
        )
    )
    pinged = market.ping()
    outcomes = {k: v[0] for k, v in market.outcomes(pinged["ping_id"]).items()}
    assert outcomes == {"fl": "fixed", "miami": "fixed", "young": "filter", "either": "filter"}
    assert pinged["bid"] == "15.40"  # 70 % of the Miami order's 22.00
    tx = market.ping({**PING, "state": "TX", "zip": "75001"})
    outcomes = {k: v[0] for k, v in market.outcomes(tx["ping_id"]).items()}
    assert outcomes == {"fl": "filter", "miami": "filter", "young": "filter", "either": "fixed"}


def test_schedule_opens_and_closes_with_the_frozen_clock(market: Market) -> None:
    market.apply(marketplace([buyer("office", order("office", "20.00", schedule=NEW_YORK_9_TO_5))]))
    assert market.ping()["status"] == "accepted"  # Monday 10:00 in New York
    market.clock.set(dt.datetime(2026, 11, 23, 22, 30, tzinfo=dt.UTC))  # 17:30 in New York
    closed = market.ping()
    assert closed["reasons"] == ["no_eligible_buyers"]
    assert market.outcomes(closed["ping_id"])["office"] == ("schedule", "closed by schedule")


def test_closed_dates_close_the_whole_day(market: Market) -> None:
    schedule = {**NEW_YORK_9_TO_5, "closed": ["2026-11-26"]}
    market.apply(marketplace([buyer("office", order("office", "20.00", schedule=schedule))]))
    market.clock.set(dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC))  # Thanksgiving, 10:00
    assert market.ping()["status"] == "rejected"


def _cap_order(caps: list[dict[str, Any]], price: str = "20.00") -> dict[str, Any]:
    return order("capped", price, caps=caps, timezone="America/New_York")


def _sold(market: Market) -> bool:
    pinged = market.ping()
    if pinged["status"] != "accepted":
        return False
    return bool(market.post(pinged["ping_id"])["status"] == "sold")


@pytest.mark.parametrize(
    ("window", "later"),
    [
        ("hour", dt.timedelta(hours=1)),
        ("day", dt.timedelta(days=1)),
        ("week", dt.timedelta(days=7)),
        ("month", dt.timedelta(days=31)),
    ],
)
def test_count_cap_in_each_window(market: Market, window: str, later: dt.timedelta) -> None:
    market.apply(
        marketplace([buyer("b", _cap_order([{"kind": "count", "window": window, "limit": 2}]))])
    )
    assert [_sold(market) for _ in range(3)] == [True, True, False]
    market.clock.advance(seconds=later.total_seconds())
    assert _sold(market)


def test_total_cap_never_resets(market: Market) -> None:
    market.apply(
        marketplace([buyer("b", _cap_order([{"kind": "count", "window": "total", "limit": 1}]))])
    )
    assert _sold(market)
    market.clock.advance(days=400)
    assert not _sold(market)


def test_spend_cap_counts_money(market: Market) -> None:
    caps = [{"kind": "spend", "window": "day", "limit": "50.00"}]
    market.apply(marketplace([buyer("b", _cap_order(caps, price="20.00"))]))
    assert [_sold(market) for _ in range(3)] == [True, True, False]


def test_buyer_budget_spans_its_orders(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer(
                    "thrifty",
                    order("one", "30.00"),
                    order("two", "25.00"),
                    budget=[{"kind": "spend", "window": "month", "limit": "60.00"}],
                ),
            ]
        )
    )
    assert [_sold(market) for _ in range(3)] == [True, True, False]
    pinged = market.ping()
    assert pinged["status"] == "rejected"
    assert {v[0] for v in market.outcomes(pinged["ping_id"]).values()} == {"budget"}


def test_a_won_ping_holds_the_last_cap_slot_until_it_expires(market: Market) -> None:
    market.apply(
        marketplace([buyer("b", _cap_order([{"kind": "count", "window": "day", "limit": 1}]))])
    )
    first = market.ping()
    assert first["status"] == "accepted"
    assert market.ping()["status"] == "rejected"  # the slot is held for the first ping
    market.clock.advance(seconds=301)  # the hold expires with the ping: nothing leaks
    time.sleep(0.5)  # the cap room is refreshed every 0.2 s here (every second by default)
    second = market.ping()
    assert second["status"] == "accepted"
    assert market.post(second["ping_id"])["status"] == "sold"


def test_dedup_keeps_a_consumer_from_being_sold_twice_to_a_buyer(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("picky", order("picky", "30.00", dedup_days=30)),
                buyer("other", order("other", "10.00")),
            ]
        )
    )
    first = market.sell()
    assert [s["order_id"] for s in market.lead(first["lead_id"])["sales"]] == ["picky"]
    # the same phone, written differently, a week later: the picky buyer has had it
    market.clock.advance(days=7)
    again = market.sell({**PING, **CONTACT, "phone": "+1 305 555 0142", "email": "new@example.com"})
    lead = market.lead(again["lead_id"])
    assert [s["order_id"] for s in lead["sales"]] == ["other"]
    assert again["price"] == "7.00"  # the fallback pays the seller less, never more
    notes = {n["order_id"]: n["outcome"] for n in lead["auction"]["sale_notes"]}
    assert notes == {"picky": "dedup"}
    # after the window the buyer may buy it again
    market.clock.advance(days=31)
    assert [s["order_id"] for s in market.lead(market.sell()["lead_id"])["sales"]] == ["picky"]


def test_fallback_when_the_winner_closes_between_ping_and_post(market: Market) -> None:
    config = marketplace(
        [buyer("first", order("first", "30.00")), buyer("second", order("second", "20.00"))]
    )
    market.apply(config)
    pinged = market.ping()
    assert pinged["bid"] == "21.00"
    config["buyers"][0]["orders"][0]["status"] = "paused"
    market.apply(config)
    sold = market.post(pinged["ping_id"])
    assert sold["status"] == "sold"
    assert sold["price"] == "14.00"
    lead = market.lead(sold["lead_id"])
    assert [s["order_id"] for s in lead["sales"]] == ["second"]
    assert lead["auction"]["sale_notes"][0]["outcome"] == "paused"


def test_no_fallback_left_means_unsold(market: Market) -> None:
    config = marketplace([buyer("only", order("only", "30.00"))])
    market.apply(config)
    pinged = market.ping()
    config["buyers"][0]["orders"][0]["status"] = "paused"
    market.apply(config)
    answer = market.post(pinged["ping_id"])
    assert answer["status"] == "rejected"
    assert answer["reasons"] == ["all_buyers_declined"]
    assert market.lead(answer["lead_id"])["status"] == "unsold"


def test_inbound_duplicates_are_rejected_within_the_campaign_window(market: Market) -> None:
    from tests.api.market import campaign

    market.apply(marketplace([buyer("b", order("b", "20.00"))], [campaign(inbound_dedup_days=10)]))
    assert market.direct_post()["status"] == "sold"
    market.clock.advance(days=3)
    assert market.direct_post()["reasons"] == ["duplicate"]
