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
from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.config.apply import merge_documents
from pingtree.config.compile import compile_config
from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.config.parse import parse_config
from pingtree.config.schema import ConfigDocument
from pingtree.domain.eligibility import LeadContext
from pingtree.flows.replay import (
    CapSimulation,
    Replayed,
    replay_lead,
    replay_ping,
    replay_the_same,
)
from pingtree.flows.replay_assume import AssumedBid, split_draft
from pingtree.flows.replay_scope import Reach, ReplayScope
from pingtree.flows.replay_skip import DraftSides, reselected
from pingtree.flows.replay_told import StoredOutcomes
from pingtree.flows.whatif_report import CHANGES_KEPT, Tally, WhatIf, summary_lines
from pingtree.store.config_repo import ConfigRepository
from pingtree.store.replay_pings import StoredPing, stored_pages
from pingtree.store.snapshot import Snapshot

__all__ = ["Tally", "WhatIf", "draft_snapshots", "summary_lines", "what_if"]


#: how many pings a replay runs before it lets its event loop serve others
_YIELD_EVERY = 20


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

    def current(self, ping: StoredPing) -> bool:
        """Whether the ping ran on the configuration in force itself (no read needed)."""
        return ping.auction.get("snapshot_version") == self._base.version

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
    changes_kept: int = CHANGES_KEPT,
    money_only: bool = True,
) -> WhatIf:
    """Replay the live pings of ``[since, until]`` on the configuration in force and on
    ``draft``, and compare them; ``focus``, a ping id, is kept with both its traces
    whether it changed or not (``WhatIf.focused``).

    With ``shortcuts`` (the default) a ping is run only where the draft could change it
    (``flows.replay_skip``): its replay on the configuration in force is its stored
    auction when that configuration reads it as the one it ran on, and its replay on the
    draft is that same one when none of the orders the draft changes could quote for it.
    A ping the draft changes is run on both sides only when the report keeps it with its
    traces (the first ``changes_kept`` changes, and ``focus``); the others' money is
    the selection made again from the stored quotes, the draft's changed orders' replaced
    (``flows.replay_skip.reselected``). Without, every ping is run on both sides: the
    same report, slower.

    With ``money_only`` too (the default), a ping of a vertical the draft leaves alone
    that ran on the configuration in force is counted from its stored money
    (``StoredOutcomes.told``: the same checks, no replay built, the same report);
    without, it is told as a ping the draft may change is."""
    started = time.perf_counter()
    stored, base, draft_snapshot, scope, assumed = await _drafted(sessions, draft)
    versions = _Versions(sessions, base, stored)
    report = WhatIf(since, until, base.version, focus=focus, changes_kept=changes_kept)
    base_caps, draft_caps = CapSimulation(base), CapSimulation(draft_snapshot)
    capped = base_caps.capped | draft_caps.capped
    stored_outcomes = StoredOutcomes(base, base_caps)
    sides = DraftSides(
        (base, draft_snapshot),
        (base_caps, draft_caps),
        scope.same_eligibility,
        drafted={order_id for orders in scope.changed_orders.values() for order_id in orders},
    )
    # a ping's fields read by a vertical the draft leaves alone serve both sides
    verticals = draft_snapshot.config.verticals
    same = {v.id for v in base.config.verticals.values() if verticals.get(v.id) == v}
    async for page in stored_pages(sessions, since, until, campaign_id):
        for ping in page:
            campaign = base.config.campaigns.get(ping.campaign_id)
            if (
                shortcuts
                and money_only
                and campaign is not None
                and ping.id != focus
                and scope.reach(campaign.id, campaign.vertical_id) is Reach.CLEAN
                and versions.current(ping)
            ):
                # a vertical the draft leaves alone: the stored money counted on both
                # sides, no replay built (the same as told below, a sale read once)
                sale = stored_outcomes.told(ping)
                if sale is not None:
                    if sale.quotes and ping.posted:
                        base_caps.charge(sale.quotes, ping.created_at)
                        draft_caps.charge(sale.quotes, ping.created_at)
                    report.add_told(campaign.id, sale.winners, sale.payout)
                    if report.pings % _YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                    continue
            parsed: dict[str, Any] = {}
            reach = Reach.FULL
            before: Replayed | None = None
            if shortcuts and campaign is not None and ping.id != focus:
                reach = scope.reach(campaign.id, campaign.vertical_id)
                if versions.current(ping) or await versions.same(
                    ping, campaign.id, campaign.vertical_id
                ):
                    before = stored_outcomes.outcome(ping)
            told = before is not None
            if before is None:
                report.auctions += 1
                before = await replay_ping(base, ping, base_caps, parsed, record=False)
            after: Replayed | None = None
            if reach is Reach.ORDERS and campaign is not None:
                side = sides.side(
                    scope.orders_changed(campaign.vertical_id),
                    ping,
                    partial(_lead, base, ping, parsed),
                    stored_is_base=told,
                )
                if side is not None and side.same:
                    reach = Reach.CLEAN
                elif side is not None and told and before.result is not None:
                    after = reselected(draft_snapshot, before, before.result.quotes, side)
                    if after is not None and report.kept(before, after):
                        after = None  # a change the report keeps: run for its trace
            if reach is Reach.CLEAN:
                after = replay_the_same(before, ping, draft_caps)
            elif after is not None:
                replay_the_same(after, ping, draft_caps)
            else:
                shared = {key: values for key, values in parsed.items() if key in same}
                report.auctions += 1
                after = await replay_ping(draft_snapshot, ping, draft_caps, shared, assumed=assumed)
            if told and report.kept(before, after):
                # told from the stored trace, which keeps the orders met: run it for its lines
                report.auctions += 1
                before = await replay_ping(base, ping, base_caps, parsed, record=False)
            replay_the_same(before, ping, base_caps)
            if report.add(before, after):
                scope.parted((b for side in (before, after) for _, b, _ in side.winners), capped)
            if report.pings % _YIELD_EVERY == 0:
                # a replay run on a server's event loop: let the pings through
                await asyncio.sleep(0)
    report.settle()
    report.elapsed_ms = int((time.perf_counter() - started) * 1000)
    return report


def _lead(snapshot: Snapshot, ping: StoredPing, parsed: dict[str, Any]) -> LeadContext | Replayed:
    found = replay_lead(snapshot, ping, parsed)
    return found if isinstance(found, Replayed) else found[1]
