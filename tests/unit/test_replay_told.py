"""The replay's pings of verticals a draft leaves alone, counted by their stored money
alone (issue 17, ``flows.replay_told.StoredOutcomes.told``): the report is the one of the
same traffic with that path forced off, and the one of a full re-run, caps filling inside
the period and stored caps the simulation reads otherwise included."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from typing import Any

import pytest
import yaml

from pingtree.flows.whatif import WhatIf, what_if
from pingtree.store.db import create_engine, session_factory
from tests.unit.test_replay_shortcuts import (
    PINGS,
    START,
    comparable,
    live_document,
    mutate,
    orders,
    read_back,
    store_traffic,
)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Traffic whose caps filled as the replay's simulation fills them."""
    return store_traffic(tmp_path_factory.mktemp("told"), caps=True)


@pytest.fixture(scope="module")
def uncapped(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Traffic stored as if no cap were ever full: the simulation disagrees on some."""
    return store_traffic(tmp_path_factory.mktemp("told_uncapped"), caps=False)


def three(url: str, draft: dict[str, Any], **options: Any) -> tuple[WhatIf, WhatIf, WhatIf]:
    """The draft's replay by money where it can be, told ping by ping, and run whole."""

    async def run() -> tuple[WhatIf, WhatIf, WhatIf]:
        engine = create_engine(url)
        sessions = session_factory(engine)
        text = yaml.safe_dump(draft)
        until = START + dt.timedelta(days=1)
        try:
            fast = await what_if(sessions, text, START, until, **options)
            told = await what_if(sessions, text, START, until, money_only=False, **options)
            full = await what_if(sessions, text, START, until, shortcuts=False, **options)
        finally:
            await engine.dispose()
        return fast, told, full

    return asyncio.run(run())


def auto_draft(seed: int) -> tuple[dict[str, Any], list[str]]:
    """A random-ish draft of the auto vertical's orders only: health is left alone."""
    rng = random.Random(300 + seed)
    draft = live_document()
    auto = {  # the same entities: changing them changes the draft
        "buyers": [b for b in draft["buyers"] if b["orders"][0]["vertical"] == "auto_insurance"],
        "suppliers": [s for s in draft["suppliers"] if s["id"] == "sunrise_media"],
    }
    return draft, [mutate(auto, rng, n) for n in range(1, 4)]


def test_the_health_caps_fill_inside_the_period(stored: str) -> None:
    # what the comparisons below rest on: harbor's hourly cap of 4 is met, and then the
    # stored lines say so
    lines = [
        row[2]
        for ping in read_back(stored)
        for row in ping.auction.get("candidates", ())
        if row[0] == "harbor_health_family"
    ]
    assert lines.count("cap") > 10
    assert lines.count("fixed") > 4
    fast, told, full = three(stored, live_document())
    assert comparable(fast) == comparable(told) == comparable(full)
    assert fast.money_only > 0
    assert told.money_only == 0 == full.money_only


@pytest.mark.parametrize("seed", range(4))
def test_money_only_gives_the_report_of_pings_told_one_by_one(stored: str, seed: int) -> None:
    draft, done = auto_draft(seed)
    fast, told, full = three(stored, draft)
    assert comparable(fast) == comparable(told), done
    assert comparable(fast) == comparable(full), done
    # the health campaign's pings (about a third) were counted by money alone
    assert fast.money_only > PINGS // 5
    assert told.money_only == 0


def test_a_raised_floor_with_money_only_and_changes_not_kept(stored: str) -> None:
    draft = live_document()
    next(o for o in orders(draft) if o["id"] == "rapid_auto_live")["pricing"]["floor"] = "25.00"
    fast, told, full = three(stored, draft, changes_kept=0)
    assert comparable(fast) == comparable(told) == comparable(full)
    assert fast.changed > 0
    assert fast.money_only > PINGS // 5


def test_a_draft_of_the_health_vertical_counts_the_auto_pings_by_money(stored: str) -> None:
    draft = live_document()
    harbor = next(o for o in orders(draft) if o["id"] == "harbor_health_family")
    harbor["caps"] = [{"kind": "count", "window": "hour", "limit": 2}]
    fast, told, full = three(stored, draft)
    assert comparable(fast) == comparable(told) == comparable(full)
    assert fast.changed > 0
    assert all(change["campaign_id"] == "harborview_health" for change in full.changes)
    # the auto vertical is the one left alone now: its pings, and none of health's
    auto = sum(1 for ping in read_back(stored) if ping.campaign_id == "sunrise_auto")
    assert fast.money_only == auto


@pytest.mark.parametrize("seed", range(2))
def test_stored_caps_the_simulation_reads_otherwise_are_not_counted_by_money(
    uncapped: str, seed: int
) -> None:
    # stored as if no cap were ever full: once harbor's cap fills in the simulation, its
    # stored lines disagree, and those pings are run, not counted by their money
    draft, done = auto_draft(seed)
    fast, told, full = three(uncapped, draft)
    assert comparable(fast) == comparable(told) == comparable(full), done
    assert all(change["campaign_id"] == "sunrise_auto" for change in full.changes)
    health = sum(1 for ping in read_back(uncapped) if ping.campaign_id == "harborview_health")
    assert 0 < fast.money_only < health
    # the ones not counted by money were run, as when told one by one
    assert fast.auctions == told.auctions > 0


def test_the_focused_ping_of_a_vertical_left_alone_is_run(stored: str) -> None:
    # a ping met by harbor's full cap: it is run on both sides, each side's caps holding
    # the sales counted by money before it
    focus = [
        ping.id
        for ping in read_back(stored)
        if ["harbor_health_family", "harbor_health", "cap"]
        in [row[:3] for row in ping.auction.get("candidates", ())]
    ][-1]
    draft, _ = auto_draft(0)
    fast, told, full = three(stored, draft, focus=focus)
    assert fast.focused == told.focused == full.focused
    assert fast.focused is not None
    assert fast.focused["campaign_id"] == "harborview_health"
    lines = {line["order_id"]: line for line in fast.focused["trace_after"]["candidates"]}
    assert lines["harbor_health_family"]["outcome"] == "cap"
