"""Assumed bids (issue 17, ``flows.replay_assume``): a buyer new in the draft is unknown,
or answers the bid curve its ``replay.assumed_bids`` entry sets: fixed, uniform or
normal, drawn per ping with seeds, the same on every replay."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml

from pingtree.config.errors import ConfigError
from pingtree.flows.replay_assume import ASSUMED, AssumedBid, split_draft
from pingtree.flows.whatif import WhatIf, what_if
from pingtree.store.db import create_engine, session_factory
from tests.unit.test_replay_shortcuts import START, comparable, live_document, store_traffic

UNTIL = START + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> str:
    return store_traffic(tmp_path_factory.mktemp("assumed"), caps=True)


def with_newcomer(assumed: Any = None) -> dict[str, Any]:
    draft = live_document()
    rapid = next(o for b in draft["buyers"] for o in b["orders"] if o["id"] == "rapid_auto_live")
    newcomer = {**copy.deepcopy(rapid), "id": "newcomer_live", "name": "Newcomer"}
    draft["buyers"].append({"id": "newcomer", "name": "Newcomer", "orders": [newcomer]})
    if assumed is not None:
        draft["replay"] = {"assumed_bids": {"newcomer_live": assumed}}
    return draft


def replay(url: str, draft: dict[str, Any], **options: Any) -> WhatIf:
    async def run() -> WhatIf:
        engine = create_engine(url)
        try:
            text = yaml.safe_dump(draft)
            return await what_if(session_factory(engine), text, START, UNTIL, **options)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_without_a_curve_the_newcomer_is_unknown(stored: str) -> None:
    report = replay(stored, with_newcomer())
    assert report.unknown_bids > 0
    assert (report.assumed_bids, report.changed) == (0, 0)


def test_a_fixed_assumed_bid_wins_where_it_beats_the_rest(stored: str) -> None:
    unknown = replay(stored, with_newcomer()).unknown_bids
    report = replay(stored, with_newcomer("59.00"), focus=None)
    assert (report.unknown_bids, report.assumed_bids) == (0, unknown)
    assert report.changed > 0
    for change in report.changes:
        assert [w["order_id"] for w in change["after"]["winners"]] == ["newcomer_live"]
        assert change["after"]["winners"][0]["price"] == "59.00"
        lines = {row["order_id"]: row for row in change["trace_after"]["candidates"]}
        assert lines["newcomer_live"]["reason"] == ASSUMED
    by_buyer = {row["id"]: row for row in report.to_json()["buyers"]}
    assert by_buyer["newcomer"]["after"]["won"] == report.changed


def test_a_curve_is_drawn_the_same_every_time_and_judged_by_the_floor(stored: str) -> None:
    curve = {"uniform": ["5.00", "40.00"], "no_bid": 0.25}
    first = replay(stored, with_newcomer(curve))
    assert comparable(first) == comparable(replay(stored, with_newcomer(curve)))
    assert comparable(first) == comparable(replay(stored, with_newcomer(curve), shortcuts=False))
    assert first.assumed_bids > 0
    assert 0 < first.changed < first.pings
    lines = [
        row
        for change in first.changes
        for row in change["trace_after"]["candidates"]
        if row["order_id"] == "newcomer_live"
    ]
    # the draws below the order's floor of 10.00 are refused as a stored bid would be
    assert all(Decimal(row["price"]) >= 10 for row in lines if row["outcome"] == "bid")


def test_draws_stay_in_their_curve() -> None:
    uniform = AssumedBid(Decimal("10.00"), Decimal("12.00"))
    drawn = {uniform.draw(f"ping-{i}", "o") for i in range(200)}
    assert all(d is not None and Decimal(10) <= d <= Decimal(12) for d in drawn)
    assert len(drawn) > 50
    normal = AssumedBid(Decimal("20.00"), Decimal("4.00"), normal=True)
    assert normal.draw("p", "o") == normal.draw("p", "o")
    assert AssumedBid(Decimal("20.00"), no_bid=1.0).draw("p", "o") is None
    assert AssumedBid(Decimal("20.00")).draw("p", "o") == Decimal("20.00")


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("-1", "a price from 0.00"),
        ("12.345", "to the cent"),
        ({"uniform": ["30.00", "10.00"]}, "low must not be above high"),
        ({"uniform": "10.00"}, "uniform: [low, high]"),
        ({"normal": {"mean": "10.00"}}, "normal: {mean, sd}"),
        ({"fixed": "10.00", "no_bid": 2}, "no_bid: a share from 0 to 1"),
        ({"poisson": 3}, "one of fixed, uniform or normal"),
    ],
)
def test_a_bad_curve_is_named_by_its_path(spec: Any, said: str) -> None:
    text = yaml.safe_dump({"replay": {"assumed_bids": {"newcomer_live": spec}}})
    with pytest.raises(ConfigError) as raised:
        split_draft(text)
    (issue,) = raised.value.issues
    assert issue.path == "replay.assumed_bids.newcomer_live"
    assert said in issue.msg


def test_a_curve_for_an_order_not_in_the_draft_is_refused(stored: str) -> None:
    draft = live_document()
    draft["replay"] = {"assumed_bids": {"nobody_live": "10.00"}}
    with pytest.raises(ConfigError) as raised:
        replay(stored, draft)
    assert [i.path for i in raised.value.issues] == ["replay.assumed_bids.nobody_live"]
