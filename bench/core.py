"""The core benchmark: the auction's cost per ping, and the ping/post round trip on SQLite.

    .venv/bin/python bench/core.py [--orders 1000] [--auctions 2000] [--leads 300]
                                   [--full-scan] [--no-round-trip]

1. **auction**: ``run_auction`` over a snapshot of N fixed-price orders with filters,
   schedules and caps (the best-first walk, or with ``--full-scan`` every order; price,
   rank, select, ping options, the trace's JSON), timed in-process: wall time, and the
   thread's CPU time (``time.thread_time``), which a shared machine's preemption leaves out.
2. **round trip**: a real server (uvicorn, embedded SQLite in a temporary directory) and a
   real HTTP client on loopback; sequential ping → post pairs, each timed end to end.

Prints a Markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingtree.config.compile import compile_config
from pingtree.config.parse import parse_config
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.flows.auction import FALLBACK_BUYERS, run_auction
from pingtree.flows.ports import NoLiveBids
from pingtree.store.snapshot import Snapshot

STATES = ["FL", "GA", "TX", "CA", "NY", "OH", "PA", "IL", "NC", "AZ"]


def marketplace(orders: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    buyers = []
    for b in range(orders // 10):
        buyer_orders = []
        for o in range(10):
            states = rng.sample(STATES, 4)
            buyer_orders.append(
                {
                    "id": f"b{b}-o{o}",
                    "name": f"order {b}/{o}",
                    "vertical": "auto",
                    "pricing": {
                        "type": "fixed",
                        "exclusive": f"{rng.randint(5, 60)}.{rng.randint(0, 99):02d}",
                    },
                    "priority": rng.randint(1, 5),
                    "filters": {
                        "all": [
                            {"field": "state", "op": "in", "value": states},
                            {
                                "field": "age",
                                "op": "between",
                                "value": [rng.randint(18, 30), rng.randint(50, 80)],
                            },
                        ]
                    },
                    "caps": [{"kind": "count", "window": "day", "limit": 1000}],
                    "schedule": {
                        "timezone": "America/New_York",
                        "hours": {"daily": ["00:00-24:00"]},
                    },
                }
            )
        buyers.append({"id": f"buyer-{b}", "name": f"Buyer {b}", "orders": buyer_orders})
    return {
        "verticals": [
            {
                "id": "auto",
                "name": "Auto",
                "fields": [
                    {"name": "state", "type": "state", "ping": "required", "post": "required"},
                    {"name": "zip", "type": "zip", "ping": "required", "post": "required"},
                    {"name": "age", "type": "integer", "ping": "required", "post": "required"},
                    {"name": "phone", "type": "phone", "pii": True, "post": "required"},
                    {"name": "email", "type": "email", "pii": True, "post": "required"},
                ],
            }
        ],
        "suppliers": [
            {
                "id": "seller",
                "name": "Seller",
                "campaigns": [
                    {
                        "id": "seller-auto",
                        "name": "Seller auto",
                        "vertical": "auto",
                        "modes": ["ping_post", "direct_post"],
                        "payout": {"model": "revenue_share", "percent": 70},
                    }
                ],
            }
        ],
        "buyers": buyers,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench_auction(orders: int, rounds: int, full_scan: bool = False) -> dict[str, float]:
    snapshot = Snapshot.build(1, compile_config(parse_config(marketplace(orders))))
    campaign = snapshot.config.campaigns["seller-auto"]
    rng = random.Random(1)
    now = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    timings, cpu = [], []
    for i in range(rounds):
        lead = LeadContext(
            values={"state": rng.choice(STATES), "zip": "33101", "age": rng.randint(18, 80)},
            test=False,
            now=now,
            qualify_all=False,
            legs=legs_offered(1),
        )
        started, started_cpu = time.perf_counter(), time.thread_time()
        result = await run_auction(
            snapshot,
            campaign,
            lead,
            seed=f"ping-{i}",
            cap_check=lambda _order: None,
            bids=NoLiveBids(),
            deadline=time.monotonic() + 1,
            walk_depth=None if full_scan else FALLBACK_BUYERS,
        )
        result.to_json()  # the trace as the ping stores it
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return {
        "p50": percentile(timings, 50),
        "p99": percentile(timings, 99),
        "mean": statistics.mean(timings),
        "cpu_p50": percentile(cpu, 50),
        "cpu_p99": percentile(cpu, 99),
    }


def bench_round_trip(leads: int, orders: int) -> dict[str, float]:
    from pingtree.api.app import create_app
    from pingtree.bootstrap import create_api_key
    from pingtree.settings import Settings
    from tests.support.server import serve_app

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), secret_key="bench-" + "k" * 40)
        with (
            serve_app(create_app(settings)) as base,
            httpx.Client(base_url=base, timeout=10) as http,
        ):
            admin = asyncio.run(create_api_key(settings, "admin", None, "bench"))
            auth = {"Authorization": f"Bearer {admin}"}
            text = yaml.safe_dump(marketplace(orders))
            http.post("/api/v1/admin/config", content=text, headers=auth).raise_for_status()
            key = http.post("/api/v1/admin/campaigns/seller-auto/keys", headers=auth).json()[
                "api_key"
            ]
            seller = {"Authorization": f"Bearer {key}"}
            pings, posts = [], []
            rng = random.Random(3)
            for i in range(leads):
                fields = {"state": rng.choice(STATES), "zip": "33101", "age": rng.randint(25, 50)}
                started = time.perf_counter()
                answer = http.post("/api/v1/ping", json={"fields": fields}, headers=seller).json()
                pings.append((time.perf_counter() - started) * 1000)
                if answer["status"] != "accepted":
                    continue
                post = {
                    "ping_id": answer["ping_id"],
                    "fields": {**fields, "phone": f"305555{i:04d}", "email": f"c{i}@example.com"},
                }
                started = time.perf_counter()
                sold = http.post("/api/v1/post", json=post, headers=seller).json()
                posts.append((time.perf_counter() - started) * 1000)
                assert sold["status"] == "sold", sold
    return {
        "ping_p50": percentile(pings, 50),
        "ping_p99": percentile(pings, 99),
        "post_p50": percentile(posts, 50),
        "post_p99": percentile(posts, 99),
        "posts": len(posts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--auctions", type=int, default=2000)
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--full-scan", action="store_true", help="check every order")
    parser.add_argument("--no-round-trip", action="store_true", help="the auction only")
    args = parser.parse_args()
    auction = asyncio.run(bench_auction(args.orders, args.auctions, args.full_scan))
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    how = "full scan" if args.full_scan else "walk"
    label = f"auction ({how}), {args.orders} fixed-price orders ({args.auctions} runs)"
    rows = [(label, auction, "", 3), (f"{label}, CPU time", auction, "cpu_", 3)]
    if not args.no_round_trip:
        trip = bench_round_trip(args.leads, 100)
        rows += [
            (f"ping over HTTP, SQLite, 100 orders ({args.leads} pings)", trip, "ping_", 2),
            (f"post over HTTP, SQLite ({trip['posts']:.0f} posts, sold)", trip, "post_", 2),
        ]
    print("| measure | p50 | p99 |")
    print("|---|---|---|")
    for label, figures, prefix, digits in rows:
        p50, p99 = figures[f"{prefix}p50"], figures[f"{prefix}p99"]
        print(f"| {label} | {p50:.{digits}f} ms | {p99:.{digits}f} ms |")


if __name__ == "__main__":
    main()
