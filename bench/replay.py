"""The replay's speed: stored demo traffic re-run on a draft (``flows.whatif.what_if``).

    .venv/bin/python bench/replay.py [--pings 20000] [--rate 1.0]

1. A temporary SQLite database gets the demo's configuration (``pingtree demo``'s
   marketplace; its buyers' endpoints are never called) and ``--pings`` stored pings of
   the demo's ping/post campaigns in their traffic shares, spaced as the demo sends
   leads (``--rate`` leads a second, of which the ping/post campaigns get 80 %). Each
   ping's auction is run for real on the snapshot, bid orders answered by a seeded
   stand-in for the mock buyers (5.00–40.00, one in ten no bid), and stored as a ping
   stores it (fields without PII, the trace with the answers).
2. ``what_if`` is timed end to end (read the pings in pages, replay each on the
   configuration in force and on a draft raising one bid order's floor, compare, build
   the report), on the wall clock and on the process's CPU time.

A week at the demo's rate is 7 × 86,400 × rate × 0.8 pings; the figure for it is
extrapolated from the measured pings a second (the replay's cost is linear in pings).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingtree.config.apply import apply_config
from pingtree.config.parse import dump_yaml
from pingtree.demo.market import demo_document
from pingtree.demo.stored_traffic import PING_SHARE, traffic
from pingtree.flows.replay_worker import ReplayLimits, what_if_apart
from pingtree.flows.whatif import what_if
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.tables import Base, Ping

_PING = Base.metadata.tables[Ping.__tablename__]


async def store_traffic(
    url: str, pings: int, rate: float, start: dt.datetime, caps: bool = True
) -> str:
    """The demo's configuration and ``pings`` stored pings; the draft's YAML text."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    doc = demo_document("http://127.0.0.1:9")
    await apply_config(sessions, doc, start)
    rows: list[dict[str, Any]] = []
    async for row in traffic(doc, 1, pings, rate, start, caps=caps):
        rows.append(row)
        if len(rows) == 2000:  # a week of traffic never sits in memory whole
            async with sessions.begin() as session:
                await session.execute(_PING.insert(), rows)
            rows = []
    if rows:
        async with sessions.begin() as session:
            await session.execute(_PING.insert(), rows)
    await engine.dispose()
    draft = yaml.safe_load(dump_yaml(doc))
    raised = next(
        o for b in draft["buyers"] for o in b["orders"] if o["pricing"].get("type") == "bid"
    )
    raised["pricing"]["floor"] = "25.00"
    return yaml.safe_dump(draft)


async def measure(url: str, draft: str, since: dt.datetime, until: dt.datetime) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    lags: list[float] = []

    async def ticker() -> None:
        """What a live ping waits for the loop: a 10 ms sleep's overshoot."""
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - began - 0.01)

    ticking = asyncio.create_task(ticker())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, cpu = time.perf_counter(), time.process_time()
    if WORKER[0]:
        limits = ReplayLimits(seconds=3600, memory_bytes=4 * 1024**3)
        report = await what_if_apart(sessions, draft, since, until, limits=limits)
    else:
        report = await what_if(sessions, draft, since, until, shortcuts=SHORTCUTS[0])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    ticking.cancel()
    await engine.dispose()
    print(f"replayed {report.pings} pings, {report.changed} change hands")
    print(f"auctions run: {report.auctions} (a full re-run: {2 * report.pings})")
    print(f"counted by their stored money (verticals the draft leaves alone): {report.money_only}")
    print(
        f"wall {wall:.2f} s ({report.pings / wall:,.0f} pings/s), CPU {cpu + worker_cpu:.2f} s"
        + (f" ({worker_cpu:.2f} s of it the worker's)" if WORKER[0] else "")
    )
    lags.sort()
    if lags:
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        print(
            f"the server loop's lag meanwhile: p50 {lags[len(lags) // 2] * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {lags[-1] * 1000:.1f} ms"
        )
    total = report.to_json()["total"]
    print(f"revenue {total['before']['revenue']} → {total['after']['revenue']}")
    RESULT.update(pings=report.pings, wall=wall, cpu=cpu + worker_cpu)


RESULT: dict[str, float] = {}
SHORTCUTS = [True]
WORKER = [False]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=1.0, help="the demo's leads a second")
    parser.add_argument("--no-shortcuts", action="store_true", help="run every ping on both sides")
    parser.add_argument(
        "--caps-never-full",
        action="store_true",
        help="store the traffic as if no cap ever filled (the replay finds otherwise)",
    )
    parser.add_argument(
        "--worker", action="store_true", help="replay in a worker process, as the server does"
    )
    args = parser.parse_args()
    WORKER[0] = args.worker
    SHORTCUTS[0] = not args.no_shortcuts
    start = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        asyncio.run(migrate(url))
        began = time.perf_counter()
        draft = asyncio.run(
            store_traffic(url, args.pings, args.rate, start, not args.caps_never_full)
        )
        print(f"stored {args.pings} pings in {time.perf_counter() - began:.1f} s")
        asyncio.run(measure(url, draft, start, start + dt.timedelta(days=8)))
    week = 7 * 86400 * args.rate * PING_SHARE
    per_second = RESULT["pings"] / RESULT["wall"]
    cpu_per_second = RESULT["pings"] / RESULT["cpu"]
    print(f"\n{platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(
        f"a week at {args.rate:g} lead/s = {week:,.0f} pings: "
        f"{week / per_second:,.0f} s wall, {week / cpu_per_second:,.0f} s CPU"
    )


if __name__ == "__main__":
    main()
