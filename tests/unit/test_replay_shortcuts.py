"""The replay's shortcuts (issue 17, ``flows.replay_skip``): a ping the draft cannot
change is told from its stored auction, not run; the report is exactly the one of a full
re-run of every ping on both sides, on random-ish drafts over stored demo traffic whose
caps fill up."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from pingtree.config.apply import apply_config
from pingtree.config.parse import dump_yaml, parse_config
from pingtree.demo.market import demo_document
from pingtree.demo.stored_traffic import traffic_rows
from pingtree.flows.whatif import WhatIf, what_if
from pingtree.flows.whatif_report import CHANGES_KEPT
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.replay_pings import StoredPing, stored_pages, stored_pings
from pingtree.store.tables import Base, Ping

START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
PINGS = 300


def live_document() -> dict[str, Any]:
    """The demo's marketplace with caps small enough to fill in a few hundred pings."""
    doc: dict[str, Any] = yaml.safe_load(dump_yaml(demo_document("http://127.0.0.1:9")))
    for buyer in doc["buyers"]:
        for order in buyer["orders"]:
            if order["id"] == "evergreen_auto_anywhere":
                order["caps"] = [{"kind": "spend", "window": "day", "limit": "60.00"}]
            if order["id"] == "harbor_health_family":
                order["caps"] = [{"kind": "count", "window": "hour", "limit": 4}]
    return doc


def orders(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for b in doc["buyers"] for o in b["orders"]]


def mutate(doc: dict[str, Any], rng: random.Random, n: int) -> str:
    """One random-ish change of a draft; what it was."""
    every = orders(doc)
    bids = [o for o in every if o["pricing"]["type"] == "bid"]
    fixed = [o for o in every if o["pricing"]["type"] == "fixed"]
    kind = rng.choice(
        ["floor", "price", "priority", "pause", "new_fixed", "new_bid", "cap", "filter", "payout"]
    )
    if kind == "floor":
        rng.choice(bids)["pricing"]["floor"] = rng.choice(["6.00", "15.00", "25.00", "35.00"])
    elif kind == "price":
        chosen = rng.choice(fixed)
        leg = "exclusive" if "exclusive" in chosen["pricing"] else "shared"
        chosen["pricing"][leg] = rng.choice(["9.00", "21.00", "27.50", "45.00"])
    elif kind == "priority":
        rng.choice(every)["priority"] = rng.randint(1, 6)
    elif kind == "pause":
        rng.choice(every)["status"] = "paused"
    elif kind in ("new_fixed", "new_bid"):
        chosen = copy.deepcopy(rng.choice(fixed if kind == "new_fixed" else bids))
        chosen["id"] = f"{chosen['id']}_draft_{n}"
        if kind == "new_fixed":
            leg = "exclusive" if "exclusive" in chosen["pricing"] else "shared"
            chosen["pricing"][leg] = rng.choice(["18.00", "31.00"])
        rng.choice(doc["buyers"])["orders"].append(chosen)
    elif kind == "cap":
        rng.choice(every)["caps"] = [{"kind": "count", "window": "day", "limit": rng.randint(1, 9)}]
    elif kind == "filter":
        rng.choice(every)["filters"] = {"all": [{"field": "age", "op": "gte", "value": 40}]}
    else:
        campaign = rng.choice([c for s in doc["suppliers"] for c in s["campaigns"]])
        campaign["payout"] = {"model": "revenue_share", "percent": rng.choice([50, 80])}
    return kind


def comparable(report: WhatIf) -> dict[str, Any]:
    data = report.to_json(traces=True)
    del data["elapsed_ms"], data["auctions"]
    return data


def store_traffic(folder: Path, *, caps: bool, lines: bool = True) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'replay.db'}"

    async def store() -> None:
        await migrate(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        doc = parse_config(live_document())
        await apply_config(sessions, doc, START)
        rows = await traffic_rows(doc, 1, PINGS, 1.0, START, caps=caps, lines=lines)
        async with sessions.begin() as session:
            await session.execute(Base.metadata.tables[Ping.__tablename__].insert(), rows)
        await engine.dispose()

    asyncio.run(store())
    return url


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Traffic whose caps filled as the replay's simulation fills them."""
    return store_traffic(tmp_path_factory.mktemp("replay"), caps=True)


@pytest.fixture(scope="module")
def uncapped(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Traffic stored as if no cap were ever full: the simulation disagrees on some."""
    return store_traffic(tmp_path_factory.mktemp("uncapped"), caps=False)


@pytest.fixture(scope="module")
def unlined(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The traffic of ``stored``, as pings stored before replay lines existed."""
    return store_traffic(tmp_path_factory.mktemp("unlined"), caps=True, lines=False)


def both(url: str, draft: dict[str, Any], **options: Any) -> tuple[WhatIf, WhatIf]:
    async def run() -> tuple[WhatIf, WhatIf]:
        engine = create_engine(url)
        sessions = session_factory(engine)
        text = yaml.safe_dump(draft)
        until = START + dt.timedelta(days=1)
        try:
            fast = await what_if(sessions, text, START, until, **options)
            full = await what_if(sessions, text, START, until, shortcuts=False, **options)
        finally:
            await engine.dispose()
        return fast, full

    return asyncio.run(run())


@pytest.mark.parametrize("kept", [CHANGES_KEPT, 1])
@pytest.mark.parametrize("seed", range(8))
def test_the_shortcuts_give_the_full_re_run_s_report(stored: str, seed: int, kept: int) -> None:
    # with one change kept, the others' money is re-selected from the stored quotes
    rng = random.Random(seed)
    draft = live_document()
    done = [mutate(draft, rng, n) for n in range(rng.randint(1, 3))]
    fast, full = both(stored, draft, changes_kept=kept)
    assert comparable(fast) == comparable(full), done
    assert full.pings == PINGS
    assert full.auctions == 2 * PINGS
    assert fast.auctions < full.auctions


def test_an_unchanged_draft_runs_no_auction(stored: str) -> None:
    # the stored caps filled as the replay's simulation fills them: every ping is told
    fast, full = both(stored, live_document())
    assert comparable(fast) == comparable(full)
    assert fast.changed == 0
    assert fast.auctions == 0


def test_a_raised_floor_replays_only_the_bids_it_crosses(stored: str) -> None:
    draft = live_document()
    rapid = next(o for o in orders(draft) if o["id"] == "rapid_auto_live")
    rapid["pricing"]["floor"] = "25.00"
    fast, full = both(stored, draft)
    assert comparable(fast) == comparable(full)
    assert fast.changed > 0
    assert fast.auctions < full.auctions // 3


def test_changes_not_kept_are_re_selected_from_the_stored_quotes(stored: str) -> None:
    # the ping options of the sunrise campaign refuse some sales the draft makes cheaper
    draft = live_document()
    for order in orders(draft):
        if order["id"] in ("rapid_auto_live", "torchlight_auto_live"):
            order["pricing"]["floor"] = "21.00"
        if order["id"] == "evergreen_auto_anywhere":
            order["priority"] = 1
    fast, full = both(stored, draft, changes_kept=0)
    assert comparable(fast) == comparable(full)
    assert fast.changed > 10
    assert fast.changes == []
    # no auction run for the auto campaigns' pings: their money re-selected
    assert fast.auctions < full.auctions // 10


def test_the_focused_ping_is_run_with_both_traces(stored: str) -> None:
    focus = f"{7:08d}-bench"
    fast, full = both(stored, live_document(), focus=focus)
    assert fast.focused == full.focused
    assert fast.focused is not None
    assert fast.focused["trace_before"]["candidates"]


@pytest.mark.parametrize("seed", range(3))
def test_stored_caps_the_simulation_reads_otherwise_are_run(uncapped: str, seed: int) -> None:
    rng = random.Random(100 + seed)
    draft = live_document()
    done = [mutate(draft, rng, n) for n in range(seed)]
    fast, full = both(uncapped, draft)
    assert comparable(fast) == comparable(full), done
    assert 0 < fast.auctions < full.auctions


def read_back(url: str) -> list[StoredPing]:
    async def read() -> list[StoredPing]:
        engine = create_engine(url)
        try:
            return [ping async for ping in stored_pings(session_factory(engine), START)]
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("seed", range(3))
def test_pings_stored_before_replay_lines_give_the_same_report(
    stored: str, unlined: str, seed: int
) -> None:
    # the lines are read where they exist (no walk's copy of the fields), the whole
    # auction where they do not
    with_lines, without = read_back(stored), read_back(unlined)
    assert [p.id for p in with_lines] == [p.id for p in without]
    assert all(p.auction.get("walked") is True for p in with_lines if p.auction)
    assert all("fields" in p.auction["walked"] for p in without if "walked" in p.auction)
    for lined, whole in zip(with_lines, without, strict=True):
        kept = {k: v for k, v in whole.auction.items() if k not in ("walked", "tokens")}
        assert {k: v for k, v in lined.auction.items() if k != "walked"} == kept
    rng = random.Random(200 + seed)
    draft = live_document()
    done = [mutate(draft, rng, n) for n in range(1, 3)]
    fast, full = both(unlined, draft)
    assert comparable(fast) == comparable(full), done
    assert comparable(fast) == comparable(both(stored, draft)[0]), done


def test_pings_are_read_in_pages_oldest_first(stored: str) -> None:
    async def pages(size: int) -> list[list[str]]:
        engine = create_engine(stored)
        try:
            found = stored_pages(session_factory(engine), START, page_size=size)
            return [[ping.id for ping in page] async for page in found]
        finally:
            await engine.dispose()

    small, whole = asyncio.run(pages(7)), asyncio.run(pages(1000))
    assert len(whole) == 1
    assert [len(page) for page in small] == [7] * (PINGS // 7) + [PINGS % 7]
    assert [ping for page in small for ping in page] == whole[0] == sorted(whole[0])
