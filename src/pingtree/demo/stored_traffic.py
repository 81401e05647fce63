"""Stored demo traffic for a replay (``flows.whatif``) to re-run: pings of the demo's
ping/post campaigns, in their traffic shares and spaced as the demo sends leads, each
auction run for real on a configuration and stored as a ping stores it (fields without
PII, the trace with the buyers' answers). Used by ``bench/replay.py`` and the replay's
tests; no buyer is contacted: bid orders are answered by a seeded stand-in for the mock
buyers (5.00–40.00, one in ten no bid)."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from pingtree.config.compile import compile_config
from pingtree.config.schema import ConfigDocument
from pingtree.delivery.compiled import CompiledDelivery
from pingtree.demo.leads import LeadFactory
from pingtree.demo.market import CAMPAIGNS
from pingtree.domain.eligibility import LeadContext, legs_offered
from pingtree.domain.fields import Stage, validate_fields, values_to_json
from pingtree.domain.money import to_cents
from pingtree.domain.orders import Order
from pingtree.domain.outcomes import Outcome
from pingtree.domain.verticals import LeadValue
from pingtree.flows.auction import run_auction
from pingtree.flows.ports import BidResult
from pingtree.flows.replay import CapSimulation
from pingtree.store.replay_pings import replay_line
from pingtree.store.snapshot import Snapshot

__all__ = ["PING_SHARE", "StandInBids", "traffic", "traffic_rows"]

#: the share of the demo's traffic its ping/post campaigns get (the rest is direct post)
PING_SHARE = 0.8


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


def _room(room: CapSimulation | None, now: dt.datetime, order: Order) -> Outcome | None:
    return room.check(order, now) if room is not None else None


async def traffic_rows(
    doc: ConfigDocument,
    version: int,
    pings: int,
    rate: float,
    start: dt.datetime,
    *,
    seed: int = 17,
    tag: str = "bench",
    caps: bool = False,
    lines: bool = True,
) -> list[dict[str, Any]]:
    """:func:`traffic`'s rows in one list."""
    return [
        row
        async for row in traffic(
            doc, version, pings, rate, start, seed=seed, tag=tag, caps=caps, lines=lines
        )
    ]


async def traffic(
    doc: ConfigDocument,
    version: int,
    pings: int,
    rate: float,
    start: dt.datetime,
    *,
    seed: int = 17,
    tag: str = "bench",
    caps: bool = False,
    lines: bool = True,
) -> AsyncIterator[dict[str, Any]]:
    """``pings`` rows of the ``pings`` table, one at a time, run on ``doc`` (stored as
    ``version``) from ``start`` at ``rate`` leads a second, ids ``{i:08d}-{tag}``; about
    half the accepted ones posted. With ``caps`` the caps and budgets are kept as the
    sales fill them (as a replay counts them), else never full. Without ``lines`` the
    pings have no replay line, as those stored before it existed."""
    snapshot = Snapshot.build(version, compile_config(doc))
    rng = random.Random(seed)
    factory = LeadFactory(rng, start.date())
    bids = StandInBids(random.Random(seed + 6))
    room = CapSimulation(snapshot)
    campaigns = [c for c in CAMPAIGNS if c.mode == "ping_post"]
    weights = [c.weight for c in campaigns]
    gap = dt.timedelta(seconds=1 / (rate * PING_SHARE))
    for i in range(pings):
        chosen = rng.choices(campaigns, weights)[0]
        campaign = snapshot.config.campaigns[chosen.id]
        vertical = snapshot.config.verticals[campaign.vertical_id]
        pii = {spec.name for spec in vertical.fields if spec.pii}
        lead = factory.lead(chosen.vertical)
        fields = {k: v for k, v in lead.ping_fields.items() if k not in pii}
        validated = validate_fields(vertical, fields, Stage.PING)
        now = start + gap * i
        ping_id = f"{i:08d}-{tag}"
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
            cap_check=partial(_room, room if caps else None, now),
            bids=bids,
            deadline=time.monotonic() + 60,
        )
        accepted = result.decision.accepted
        posted = accepted and rng.random() < 0.5
        if posted and caps:
            room.sold(result, now)
        auction = result.to_json()
        yield (
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
                "auction": auction,
                "replay_line": replay_line(auction) if lines else None,
                "idempotency_key": None,
                "created_at": now,
                "expires_at": now + dt.timedelta(minutes=5),
                "lead_id": f"lead-{i}-{tag}" if posted else None,
            }
        )
