"""What-if: a draft configuration replayed against stored traffic, compared with the
configuration in force (DESIGN §9 "replay").

Both sides are replayed the same way (``flows.replay``: stored answers, same seeds, caps
simulated in order), so every difference comes from the draft alone. The report gives,
per campaign, buyer and order, the leads won and lost, revenue, payout and profit before
and after; and per ping that changed hands, what it was and is, why (the trace lines that
changed), and both traces to drill down into.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.apply import merge_documents
from pingtree.config.compile import compile_config
from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.config.parse import parse_config
from pingtree.config.schema import ConfigDocument
from pingtree.domain.auction import split_payout
from pingtree.domain.eligibility import LeadContext
from pingtree.domain.money import format_money
from pingtree.domain.trace import Candidate
from pingtree.flows.replay import (
    CapSimulation,
    Replayed,
    replay_lead,
    replay_ping,
    replay_the_same,
)
from pingtree.flows.replay_assume import AssumedBid, split_draft
from pingtree.flows.replay_scope import Reach, ReplayScope
from pingtree.flows.replay_skip import draft_cannot_change, stored_outcome
from pingtree.store.config_repo import ConfigRepository
from pingtree.store.replay_pings import StoredPing, stored_pings
from pingtree.store.snapshot import Snapshot

__all__ = ["Tally", "WhatIf", "draft_snapshots", "summary_lines", "what_if"]

#: how many pings a replay runs before it lets its event loop serve others
_YIELD_EVERY = 20
#: the pings that changed hands kept with both traces (the rest are counted only)
CHANGES_KEPT = 1000
_ZERO = Decimal(0)


@dataclass
class Tally:
    """Leads won and the money of them, on one side of the comparison."""

    won: int = 0
    revenue: Decimal = _ZERO
    payout: Decimal = _ZERO

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.payout

    def to_json(self) -> dict[str, Any]:
        return {
            "won": self.won,
            "revenue": format_money(self.revenue),
            "payout": format_money(self.payout),
            "profit": format_money(self.profit),
        }


@dataclass
class _Sides:
    before: Tally = field(default_factory=Tally)
    after: Tally = field(default_factory=Tally)

    def to_json(self, key: str) -> dict[str, Any]:
        b, a = self.before, self.after
        return {
            "id": key,
            "before": b.to_json(),
            "after": a.to_json(),
            "difference": {
                "won": a.won - b.won,
                "revenue": format_money(a.revenue - b.revenue),
                "payout": format_money(a.payout - b.payout),
                "profit": format_money(a.profit - b.profit),
            },
        }


@dataclass
class WhatIf:
    """The comparison of one replay (see the module)."""

    since: dt.datetime
    until: dt.datetime
    base_version: int
    pings: int = 0
    changed: int = 0
    #: pings refused before any buyer on either side (not comparable by auction)
    refused: int = 0
    #: bid orders asked with no stored answer (new in the draft, or not met originally)
    unknown_bids: int = 0
    #: bid orders answered by an assumed bid (the draft's ``replay.assumed_bids``)
    assumed_bids: int = 0
    #: auctions run (two a ping at most; the rest told without running, ``flows.replay_skip``)
    auctions: int = 0
    elapsed_ms: int = 0
    total: _Sides = field(default_factory=_Sides)
    campaigns: defaultdict[str, _Sides] = field(default_factory=lambda: defaultdict(_Sides))
    buyers: defaultdict[str, _Sides] = field(default_factory=lambda: defaultdict(_Sides))
    orders: defaultdict[str, _Sides] = field(default_factory=lambda: defaultdict(_Sides))
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: a ping to drill down into, changed or not, and what became of it (both traces)
    focus: str | None = None
    focused: dict[str, Any] | None = None

    def add(self, before: Replayed, after: Replayed) -> bool:
        """Count one ping replayed on both sides; whether it changed hands."""
        self.pings += 1
        if before.result is None or after.result is None:
            self.refused += 1
        self.unknown_bids += len(after.unknown)
        self.assumed_bids += len(after.assumed)
        for side, replayed in (("before", before), ("after", after)):
            self._tally(side, replayed)
        changed = _money(before) != _money(after)
        if changed:
            self.changed += 1
            if len(self.changes) < CHANGES_KEPT:
                self.changes.append(_change(before, after))
        if before.ping_id == self.focus:
            self.focused = {**_change(before, after), "changed": changed}
        return changed

    def _tally(self, side: str, replayed: Replayed) -> None:
        winners = replayed.winners
        if not winners:
            return
        decision = replayed.result.decision if replayed.result else None
        payout = decision.payout if decision else _ZERO
        tallies = [self.total, self.campaigns[replayed.campaign_id]]
        for tally in tallies:
            one = getattr(tally, side)
            one.won += 1
            one.revenue += sum((price for _, _, price in winners), _ZERO)
            one.payout += payout
        shares = [payout] if len(winners) == 1 else split_payout(payout, [p for _, _, p in winners])
        for (order_id, buyer_id, price), share in zip(winners, shares, strict=True):
            for tally in (self.buyers[buyer_id], self.orders[order_id]):
                one = getattr(tally, side)
                one.won += 1
                one.revenue += price
                one.payout += share

    def change(self, ping_id: str) -> dict[str, Any] | None:
        return next((c for c in self.changes if c["ping_id"] == ping_id), None)

    def to_json(self, *, traces: bool = False) -> dict[str, Any]:
        def table(sides: dict[str, _Sides]) -> list[dict[str, Any]]:
            return [sides[key].to_json(key) for key in sorted(sides)]

        changes = self.changes if traces else [_without_traces(c) for c in self.changes]
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "base_version": self.base_version,
            "pings": self.pings,
            "changed": self.changed,
            "refused": self.refused,
            "unknown_bids": self.unknown_bids,
            "assumed_bids": self.assumed_bids,
            "auctions": self.auctions,
            "elapsed_ms": self.elapsed_ms,
            "total": self.total.to_json("total"),
            "campaigns": table(self.campaigns),
            "buyers": table(self.buyers),
            "orders": table(self.orders),
            "changes": changes,
        }


def _money(replayed: Replayed) -> tuple[Any, ...]:
    decision = replayed.result.decision if replayed.result else None
    return (
        replayed.winners,
        decision.payout if decision and decision.accepted else _ZERO,
    )


def _side(replayed: Replayed) -> dict[str, Any]:
    decision = replayed.result.decision if replayed.result else None
    accepted = replayed.accepted
    return {
        "accepted": accepted,
        "winners": [
            {"order_id": o, "buyer_id": b, "price": format_money(p)} for o, b, p in replayed.winners
        ],
        "revenue": format_money(decision.revenue if decision and accepted else _ZERO),
        "payout": format_money(decision.payout if decision and accepted else _ZERO),
        "reasons": list(replayed.reasons),
    }


def _change(before: Replayed, after: Replayed) -> dict[str, Any]:
    return {
        "ping_id": before.ping_id,
        "campaign_id": before.campaign_id,
        "at": before.at.isoformat(),
        "before": _side(before),
        "after": _side(after),
        "why": _why(before, after),
        "trace_before": _trace(before),
        "trace_after": _trace(after),
    }


def _trace(replayed: Replayed) -> dict[str, Any] | None:
    """The replayed auction as a stored trace reads (its lines named, as the API gives a
    ping's)."""
    if replayed.result is None:
        return None
    trace = replayed.result.to_json()
    for part, keys in (("candidates", _LINE_KEYS), ("ranking", _QUOTE_KEYS)):
        trace[part] = [dict(zip(keys, row, strict=True)) for row in trace[part]]
    return trace


_LINE_KEYS = ("order_id", "buyer_id", "outcome", "reason", "price", "latency_ms")
_QUOTE_KEYS = ("order_id", "buyer_id", "leg", "price", "priority", "weight")


def _without_traces(change: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in change.items() if not k.startswith("trace_")}


def _lines(replayed: Replayed) -> dict[str, Candidate]:
    return {c.order_id: c for c in replayed.result.candidates} if replayed.result else {}


def _describe(line: Candidate | None) -> str:
    if line is None:
        return "absent"
    price = f" {format_money(line.price)}" if line.price is not None else ""
    reason = f" ({line.reason})" if line.reason else ""
    return f"{line.outcome}{price}{reason}"


def _why(before: Replayed, after: Replayed) -> list[str]:
    """The rules that changed the outcome: the trace lines that differ, the winners'
    first, then the ping options that now refuse (or no longer refuse) it."""
    old, new = _lines(before), _lines(after)
    winners = [o for o, _, _ in before.winners] + [o for o, _, _ in after.winners]
    others = sorted(set(old) | set(new))
    said: list[str] = []
    for order_id in dict.fromkeys([*winners, *others]):
        a, b = old.get(order_id), new.get(order_id)
        if _describe(a) != _describe(b):
            said.append(f"order {order_id}: {_describe(a)} → {_describe(b)}")
    if before.reasons != after.reasons:
        said.append(
            f"ping options: {', '.join(before.reasons) or 'accepted'} → "
            f"{', '.join(after.reasons) or 'accepted'}"
        )
    if not said:
        said.append("the ranking's draw among equals (same lines, new ranking)")
    return said


async def draft_snapshots(
    sessions: async_sessionmaker[AsyncSession], draft: str | ConfigDocument
) -> tuple[Snapshot, Snapshot, ReplayScope]:
    """The configuration in force and the draft merged onto it (as an apply without
    prune would leave it), both compiled, and what the draft leaves alone. Raises
    ``ConfigError`` for a bad draft."""
    _, base, drafted, scope, _ = await _drafted(sessions, draft)
    return base, drafted, scope


async def _drafted(
    sessions: async_sessionmaker[AsyncSession], draft: str | ConfigDocument
) -> tuple[ConfigDocument, Snapshot, Snapshot, ReplayScope, Mapping[str, AssumedBid]]:
    assumed: Mapping[str, AssumedBid] = {}
    if isinstance(draft, str):
        data, assumed = split_draft(draft)
        doc = parse_config(data)
    else:
        doc = draft
    async with sessions() as session:
        repo = ConfigRepository(session)
        version = await repo.version()
        stored = await repo.load_document()
    merged = merge_documents(stored, doc)
    base = Snapshot.build(version, compile_config(stored))
    drafted = Snapshot.build(version, compile_config(merged))
    unknown = sorted(set(assumed) - set(drafted.config.orders))
    if unknown:
        raise ConfigError(
            [ConfigIssue(f"replay.assumed_bids.{o}", "no such order in the draft") for o in unknown]
        )
    return stored, base, drafted, ReplayScope.of(stored, merged), assumed


class _Versions:
    """Whether a stored ping ran on a configuration that reads its campaign as the one in
    force does (``flows.replay_scope`` between the two; each past version read once)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], base: Snapshot, doc: ConfigDocument
    ) -> None:
        self._sessions, self._base, self._doc = sessions, base, doc
        self._scopes: dict[int, ReplayScope | None] = {}

    async def same(self, ping: StoredPing, campaign_id: str, vertical_id: str) -> bool:
        version = ping.auction.get("snapshot_version")
        if not isinstance(version, int):
            return False
        if version == self._base.version:
            return True
        if version not in self._scopes:
            async with self._sessions() as session:
                past = await ConfigRepository(session).load_version(version)
            self._scopes[version] = None if past is None else ReplayScope.of(past, self._doc)
        scope = self._scopes[version]
        return scope is not None and scope.reach(campaign_id, vertical_id) is Reach.CLEAN


async def what_if(
    sessions: async_sessionmaker[AsyncSession],
    draft: str | ConfigDocument,
    since: dt.datetime,
    until: dt.datetime,
    *,
    campaign_id: str | None = None,
    focus: str | None = None,
    shortcuts: bool = True,
) -> WhatIf:
    """Replay the live pings of ``[since, until]`` on the configuration in force and on
    ``draft``, and compare them; ``focus``, a ping id, is kept with both its traces
    whether it changed or not (``WhatIf.focused``).

    With ``shortcuts`` (the default) a ping is run only where the draft could change it
    (``flows.replay_skip``): its replay on the configuration in force is its stored
    auction when that configuration reads it as the one it ran on, and its replay on the
    draft is that same one when none of the orders the draft changes could quote for it.
    Without, every ping is run on both sides: the same report, slower."""
    started = time.perf_counter()
    stored, base, draft_snapshot, scope, assumed = await _drafted(sessions, draft)
    versions = _Versions(sessions, base, stored)
    report = WhatIf(since, until, base.version, focus=focus)
    base_caps, draft_caps = CapSimulation(base), CapSimulation(draft_snapshot)
    # a ping's fields read by a vertical the draft leaves alone serve both sides
    verticals = draft_snapshot.config.verticals
    same = {v.id for v in base.config.verticals.values() if verticals.get(v.id) == v}
    async for ping in stored_pings(sessions, since, until, campaign_id):
        parsed: dict[str, Any] = {}
        campaign = base.config.campaigns.get(ping.campaign_id)
        reach = Reach.FULL
        before: Replayed | None = None
        if shortcuts and campaign is not None and ping.id != focus:
            reach = scope.reach(campaign.id, campaign.vertical_id)
            if await versions.same(ping, campaign.id, campaign.vertical_id):
                before = stored_outcome(base, ping, base_caps)
        told = before is not None
        if before is None:
            report.auctions += 1
            before = await replay_ping(base, ping, base_caps, parsed, record=False)
        if (
            reach is Reach.ORDERS
            and campaign is not None
            and draft_cannot_change(
                scope.orders_changed(campaign.vertical_id),
                (base, draft_snapshot),
                (base_caps, draft_caps),
                ping,
                partial(_lead, base, ping, parsed),
                stored_is_base=told,
                same_eligibility=scope.same_eligibility,
            )
        ):
            reach = Reach.CLEAN
        if reach is Reach.CLEAN:
            after = replay_the_same(before, ping, draft_caps)
        else:
            shared = {key: values for key, values in parsed.items() if key in same}
            report.auctions += 1
            after = await replay_ping(draft_snapshot, ping, draft_caps, shared, assumed=assumed)
        if told and _money(before) != _money(after):
            # told from the stored trace, which keeps the orders met: run it for its lines
            report.auctions += 1
            before = await replay_ping(base, ping, base_caps, parsed, record=False)
        replay_the_same(before, ping, base_caps)
        if report.add(before, after):
            scope.parted(b for side in (before, after) for _, b, _ in side.winners)
        if report.pings % _YIELD_EVERY == 0:
            # a replay run on a server's event loop: let the pings through
            await asyncio.sleep(0)
    report.elapsed_ms = int((time.perf_counter() - started) * 1000)
    return report


def _lead(snapshot: Snapshot, ping: StoredPing, parsed: dict[str, Any]) -> LeadContext | Replayed:
    found = replay_lead(snapshot, ping, parsed)
    return found if isinstance(found, Replayed) else found[1]


def summary_lines(report: WhatIf, limit: int = 20) -> Iterable[str]:
    """The report as a few lines of text (the command line, apply's dry run)."""
    data = report.to_json()
    total = data["total"]
    yield (
        f"replayed {report.pings} pings from {data['since']} to {data['until']} "
        f"in {report.elapsed_ms} ms: {report.changed} change hands"
        + (f", {report.unknown_bids} bids unknown" if report.unknown_bids else "")
        + (f", {report.assumed_bids} bids assumed" if report.assumed_bids else "")
    )
    for key in ("won", "revenue", "payout", "profit"):
        yield (
            f"  {key:8} {total['before'][key]:>12} → {total['after'][key]:>12}"
            f"  ({total['difference'][key]})"
        )
    for kind in ("campaigns", "buyers", "orders"):
        moved = [row for row in data[kind] if row["before"] != row["after"]]
        if moved:
            yield f"{kind} that change:"
            for row in moved:
                d = row["difference"]
                yield (
                    f"  {row['id']}: won {d['won']:+d}, revenue {d['revenue']}, "
                    f"payout {d['payout']}, profit {d['profit']}"
                )
    for change in data["changes"][:limit]:
        before = ",".join(w["order_id"] for w in change["before"]["winners"]) or "unsold"
        after = ",".join(w["order_id"] for w in change["after"]["winners"]) or "unsold"
        yield f"ping {change['ping_id']}: {before} → {after}; " + "; ".join(change["why"])
    if report.changed > limit:
        yield f"… and {report.changed - limit} more"
