"""Replay and what-if (issue 17): a draft raising one floor, replayed on stored traffic
with the bids the buyers gave, says exactly which pings change hands and the money; a
re-run of the same pings on the draft applied for real agrees."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.cli_support import with_sessions
from pingtree.flows.whatif import WhatIf, summary_lines, what_if
from pingtree.mockbuyer import MockBuyer
from pingtree.store.replay_pings import StoredPing, stored_pings
from tests.api.market import Market, buyer, marketplace, order
from tests.api.test_live_bids import live_order
from tests.support.buyers import running_buyers

BUYERS: dict[str, dict[str, Any]] = {
    "rich": {"bid": {"kind": "fixed", "amount": "35.00"}},
    "mid": {"bid": {"kind": "fixed", "amount": "28.00"}},
}
#: a small batch of traffic: Florida (rich bids), Texas (a fixed 30.00), Georgia (mid's 28
#: beats the fixed 25.00), and a repeat of each
TRAFFIC = [
    {"zip": "33101", "state": "FL", "age": 34},
    {"zip": "75001", "state": "TX", "age": 41},
    {"zip": "30301", "state": "GA", "age": 52},
    {"zip": "30302", "state": "GA", "age": 29},
    {"zip": "33102", "state": "FL", "age": 60},
    {"zip": "75002", "state": "TX", "age": 23},
    {"zip": "30303", "state": "GA", "age": 38},
]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBuyer]:
    with running_buyers(BUYERS) as running:
        yield running


def config(mock: MockBuyer, mid_floor: str | None = None) -> dict[str, Any]:
    mid = live_order(mock, "mid", timeout_ms=1000)
    if mid_floor is not None:
        mid["pricing"]["floor"] = mid_floor
    return marketplace(
        [
            buyer("rich", live_order(mock, "rich", timeout_ms=1000)),
            buyer("mid", mid),
            buyer("steady", order("steady", "25.00")),
            buyer("lone", order("tx_only", "30.00", geo={"states": ["TX"]})),
        ]
    )


def run(market: Market, draft: dict[str, Any]) -> WhatIf:
    now = market.clock.now()

    def replay(sessions: async_sessionmaker[AsyncSession]) -> Coroutine[Any, Any, WhatIf]:
        return what_if(
            sessions,
            yaml.safe_dump(draft),
            now - dt.timedelta(days=7),
            now + dt.timedelta(seconds=1),
        )

    return with_sessions(market.settings, replay)


def read(market: Market) -> list[StoredPing]:
    now = market.clock.now()

    async def pings(sessions: async_sessionmaker[AsyncSession]) -> list[StoredPing]:
        since = now - dt.timedelta(days=1)
        return [p async for p in stored_pings(sessions, since)]

    return with_sessions(market.settings, pings)


def stored(market: Market) -> int:
    return len(read(market))


def test_a_draft_raising_one_floor_shows_the_pings_that_change_hands(
    market: Market, mock: MockBuyer
) -> None:
    live = config(mock)
    live["buyers"][0]["orders"][0]["geo"] = {"states": ["FL"]}
    market.apply(live)
    first = [market.ping(fields) for fields in TRAFFIC]
    assert all(p["status"] == "accepted" for p in first)
    for _ in range(100):  # the pings' writer stores them in the background
        if stored(market) == len(TRAFFIC):
            break
        asyncio.run(asyncio.sleep(0.05))
    assert stored(market) == len(TRAFFIC)
    # each ping was stored with its replay line: the auction without the walk's fields
    assert all(ping.auction["walked"] is True for ping in read(market))

    draft = config(mock, mid_floor="30.00")
    draft["buyers"][0]["orders"][0]["geo"] = {"states": ["FL"]}
    report = run(market, draft)

    # the replay of the configuration in force gives the stored outcomes
    assert report.pings == len(TRAFFIC)
    assert report.refused == 0
    winners = {p["ping_id"]: market.ping_trace(p["ping_id"])["auction"]["winners"] for p in first}
    assert [winners[p["ping_id"]] for p in first] == [
        ["rich_live"],
        ["tx_only"],
        ["mid_live"],
        ["mid_live"],
        ["rich_live"],
        ["tx_only"],
        ["mid_live"],
    ]
    # exactly the Georgia pings change hands: mid's 28.00 is now below its floor
    georgia = {p["ping_id"] for p, f in zip(first, TRAFFIC, strict=True) if f["state"] == "GA"}
    assert {c["ping_id"] for c in report.changes} == georgia
    assert report.changed == 3
    for change in report.changes:
        assert [w["order_id"] for w in change["before"]["winners"]] == ["mid_live"]
        assert [w["order_id"] for w in change["after"]["winners"]] == ["steady"]
        assert (change["before"]["payout"], change["after"]["payout"]) == ("19.60", "17.50")
        assert (
            "order mid_live: bid 28.00 → below_floor 28.00 (below floor 30.00)" in (change["why"])
        )
        # drill down: both traces, the after one saying why mid lost
        after = {row["order_id"]: row for row in change["trace_after"]["candidates"]}
        assert after["mid_live"]["outcome"] == "below_floor"
        assert change["trace_before"]["winners"] == ["mid_live"]

    data = report.to_json()
    assert data["total"]["difference"] == {
        "won": 0,
        "revenue": "-9.00",
        "payout": "-6.30",
        "profit": "-2.70",
    }
    by_buyer = {row["id"]: row["difference"] for row in data["buyers"]}
    assert by_buyer["mid"] == {
        "won": -3,
        "revenue": "-84.00",
        "payout": "-58.80",
        "profit": "-25.20",
    }
    assert by_buyer["steady"] == {
        "won": 3,
        "revenue": "75.00",
        "payout": "52.50",
        "profit": "22.50",
    }
    assert by_buyer["rich"]["won"] == 0
    assert by_buyer["lone"]["won"] == 0
    assert {row["id"] for row in data["orders"]} == {"rich_live", "mid_live", "steady", "tx_only"}
    assert "3 change hands" in next(iter(summary_lines(report)))

    # checked against a re-run: the draft applied for real, the same traffic pinged again,
    # the buyers asked live once more
    market.apply(draft)
    again = [market.ping(fields) for fields in TRAFFIC]
    after = {c["ping_id"]: c["after"] for c in report.changes}
    for old, new in zip(first, again, strict=True):
        rerun = market.ping_trace(new["ping_id"])["auction"]["winners"]
        if old["ping_id"] in after:
            expected = [w["order_id"] for w in after[old["ping_id"]]["winners"]]
            assert (rerun, new["bid"]) == (expected, after[old["ping_id"]]["payout"])
        else:
            assert (rerun, new["bid"]) == (winners[old["ping_id"]], old["bid"])


def test_a_buyer_new_in_the_draft_is_unknown(
    market: Market, mock: MockBuyer, tmp_path: Path
) -> None:
    market.apply(config(mock))
    market.ping(TRAFFIC[2])
    for _ in range(100):
        if stored(market) == 1:
            break
        asyncio.run(asyncio.sleep(0.05))
    draft = config(mock)
    newcomer = {**live_order(mock, "rich"), "id": "newcomer_live", "name": "newcomer"}
    draft["buyers"].append(buyer("newcomer", newcomer))
    report = run(market, draft)
    assert (report.pings, report.changed, report.unknown_bids) == (1, 0, 1)

    # the command line: the replay itself, and apply's dry run summing it up (the clock's
    # pings are in the past of the real one the commands read: a span far enough back)
    path = tmp_path / "draft.yaml"
    path.write_text(yaml.safe_dump(draft), encoding="utf-8")
    env = {
        **os.environ,
        "PINGTREE_DATA_DIR": str(tmp_path),
        "PINGTREE_DATABASE_URL": market.settings.resolved_database_url(),
    }
    replayed = _cli(env, "replay", "--config", str(path), "--since", "3650d", "--json")
    assert json.loads(replayed)["unknown_bids"] == 1
    summed = _cli(env, "apply", str(path), "--dry-run", "--replay", "3650d")
    assert "(dry run: nothing was written)" in summed
    assert "replayed 1 pings" in summed
    assert "0 change hands, 1 bids unknown" in summed


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pingtree", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
