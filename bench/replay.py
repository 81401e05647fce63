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
import random
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingtree.config.apply import apply_config
from pingtree.config.compile import compile_config
from pingtree.config.parse import dump_yaml
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.demo.leads import LeadFactory
from pingtree.demo.market import CAMPAIGNS, demo_document
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.fields import Stage, validate_fields, values_to_json
from pingtree.domain.model import LeadValue, Order
from pingtree.domain.money import to_cents
from pingtree.domain.outcomes import Outcome
from pingtree.flows.auction import run_auction
from pingtree.flows.ports import BidResult
from pingtree.flows.whatif import what_if
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Base, Ping

#: the share of the demo's traffic its ping/post campaigns get (the rest is direct post)
PING_SHARE = 0.8
_PING = Base.metadata.tables[Ping.__tablename__]


class StandInBids:
    """The mock buyers' answers, drawn from a seeded RNG (never over the network)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    async def collect(
        self,
        orders: Sequence[Order],
        values: Mapping[str, LeadValue],
        deadline: float,
        deliveries: Mapping[str, CompiledDelivery],
    ) -> Sequence[BidResult]:
        answers = []
        for order in orders:
            if self._rng.random() < 0.1:
                answers.append(BidResult(order.id, Outcome.NO_BID, reason="no price"))
                continue
            price = Decimal(self._rng.randint(500, 4000)) / 100
            outcome = Outcome.BELOW_FLOOR if order.pricing.below_floor(price) else Outcome.BID
            answers.append(BidResult(order.id, outcome, price=price, latency_ms=80))
        return answers


async def store_traffic(url: str, pings: int, rate: float, start: dt.datetime) -> str:
    """The demo's configuration and ``pings`` stored pings; the draft's YAML text."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    doc = demo_document("http://127.0.0.1:9")
    await apply_config(sessions, doc, start)
    snapshot = Snapshot.build(1, compile_config(doc))
    rng = random.Random(17)
    factory = LeadFactory(rng, start.date())
    bids = StandInBids(random.Random(23))
    campaigns = [c for c in CAMPAIGNS if c.mode == "ping_post"]
    weights = [c.weight for c in campaigns]
    gap = dt.timedelta(seconds=1 / (rate * PING_SHARE))
    rows: list[dict[str, Any]] = []
    for i in range(pings):
        chosen = rng.choices(campaigns, weights)[0]
        campaign = snapshot.config.campaigns[chosen.id]
        vertical = snapshot.config.verticals[campaign.vertical_id]
        pii = {spec.name for spec in vertical.fields if spec.pii}
        lead = factory.lead(chosen.vertical)
        fields = {k: v for k, v in lead.ping_fields.items() if k not in pii}
        validated = validate_fields(vertical, fields, Stage.PING)
        now = start + gap * i
        ping_id = f"{i:08d}-bench"
        result = await run_auction(
            snapshot,
            campaign,
            LeadContext(
                values=validated.values,
                test=False,
                now=now,
                qualify_all=campaign.ping_options.qualify_all_criteria,
                legs=legs_offered(campaign.max_sells),
            ),
            seed=ping_id,
            cap_check=lambda order: None,
            bids=bids,
            deadline=time.monotonic() + 60,
        )
        accepted = result.decision.accepted
        rows.append(
            {
                "id": ping_id,
                "campaign_id": campaign.id,
                "supplier_id": campaign.supplier_id,
                "vertical_id": campaign.vertical_id,
                "test": False,
                "status": "accepted" if accepted else "rejected",
                "reasons": [str(r) for r in result.decision.reasons],
                "fields": values_to_json(validated.values),
                "bid_cents": to_cents(result.decision.payout) if accepted else 0,
                "revenue_cents": to_cents(result.decision.revenue) if accepted else 0,
                "answer": {},
                "auction": result.to_json(),
                "idempotency_key": None,
                "created_at": now,
                "expires_at": now + dt.timedelta(minutes=5),
                # about half of the accepted pings are posted (they take cap room)
                "lead_id": f"lead-{i}" if accepted and rng.random() < 0.5 else None,
            }
        )
    async with sessions.begin() as session:
        for first in range(0, len(rows), 2000):
            await session.execute(_PING.insert(), rows[first : first + 2000])
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
    wall, cpu = time.perf_counter(), time.process_time()
    report = await what_if(sessions, draft, since, until)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await engine.dispose()
    print(f"replayed {report.pings} pings, {report.changed} change hands")
    print(f"wall {wall:.2f} s ({report.pings / wall:,.0f} pings/s), CPU {cpu:.2f} s")
    total = report.to_json()["total"]
    print(f"revenue {total['before']['revenue']} → {total['after']['revenue']}")
    RESULT.update(pings=report.pings, wall=wall, cpu=cpu)


RESULT: dict[str, float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=1.0, help="the demo's leads a second")
    args = parser.parse_args()
    start = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        asyncio.run(migrate(url))
        began = time.perf_counter()
        draft = asyncio.run(store_traffic(url, args.pings, args.rate, start))
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
