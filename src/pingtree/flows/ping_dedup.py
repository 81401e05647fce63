"""The ping's dedup steps (DESIGN §8.2; ``domain.ping_dedup`` for the rules):

    take ``phone_hash`` / ``email_hash`` out of the fields (checked: 64 hex digits)
    → fingerprint the ping (the campaign's ``ping_dedup``; not a test ping)
    → seen within the window? the first answer again, or ``duplicate`` by setting
    → the hashes' dedup history: ``duplicate`` if any supplier sent the consumer within
      the campaign's inbound window; each buyer's last purchase of the consumer, for the
      orders' own dedup windows
    → once answered: the answer kept under the fingerprint for the window

The cache is ``store.ping_repeats`` (one Redis round trip, or none in-process); the
history is the database's, read only for a ping that carries a hash.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pingtree.domain.campaigns import Campaign, RepeatAnswer
from pingtree.domain.ping_dedup import ConsumerHashes, fingerprint
from pingtree.domain.verticals import LeadValue, Vertical
from pingtree.flows.intake import seen_inbound
from pingtree.flows.ports import Ports
from pingtree.store.dedup import DedupRepository
from pingtree.store.lead_fields import hash_key
from pingtree.store.ping_repeats import PENDING

__all__ = ["PingSeen", "consumer_seen"]

#: how often a repeat looks for the first ping's answer while that ping is auctioned
_POLL_SECONDS = 0.02
#: what the first ping may take past its deadline to store and send its answer
_ANSWER_MARGIN_MS = 500
#: the longest a repeat waits for it (past this, or the campaign's deadline and the margin:
#: ``duplicate``)
_MAX_WAIT_MS = 2_000


@dataclass
class PingSeen:
    """What the dedup steps found of a ping's consumer."""

    #: the first answer, to give again at once (a repeat within the window), if any
    answer: dict[str, Any] | None = None
    #: to refuse as ``duplicate``: a repeat within the window (by setting, or while the
    #: first is still auctioned), or a consumer any supplier sent within the inbound window
    duplicate: bool = False
    #: buyer id → when it last bought this consumer (known by a hash), for order dedup
    sold_before: Mapping[str, dt.datetime] = field(default_factory=dict)
    #: the fingerprint this ping claimed, whose answer :meth:`remember` keeps
    claimed: str | None = None

    def remember(self, ports: Ports, campaign: Campaign, answer: Mapping[str, Any]) -> None:
        """Keep the first ping's ``answer`` for its repeats within the window; an accepted
        one no longer than the ping lives (a repeat past it could not be posted)."""
        dedup = campaign.ping_dedup
        if self.claimed is None or dedup is None:
            return
        ttl_ms = dedup.window_seconds * 1000
        if answer.get("status") == "accepted":
            ttl_ms = min(ttl_ms, campaign.ping_ttl_seconds * 1000)
        now_ms = _ms(ports.clock.now())
        ports.ping_repeats.remember(campaign.id, self.claimed, answer, now_ms, ttl_ms)


async def consumer_seen(
    ports: Ports,
    campaign: Campaign,
    vertical: Vertical,
    values: Mapping[str, LeadValue],
    hashes: ConsumerHashes,
    test: bool,
    now: dt.datetime,
) -> PingSeen:
    """The dedup steps before the auction; a test ping has none."""
    if test:
        return PingSeen()
    dedup = campaign.ping_dedup
    claimed = None
    if dedup is not None:
        mark = fingerprint(dedup, vertical, values, hashes)
        if mark is not None:
            first = await ports.ping_repeats.claim(campaign.id, mark, _ms(now))
            if first is not None and dedup.on_repeat is RepeatAnswer.REJECT:
                return PingSeen(duplicate=True)
            if first is PENDING:
                first = await _first_answer(ports, campaign, mark)
            if first is PENDING:
                return PingSeen(duplicate=True)
            if first is not None:
                return PingSeen(answer=dict(first))
            claimed = mark
    if not hashes:
        return PingSeen(claimed=claimed)
    keys = [hash_key(kind, digest, ports.vault) for kind, digest in hashes.items()]
    async with ports.sessions() as session:
        sold_before = await DedupRepository(session).last_sold(keys)
        duplicate = await seen_inbound(session, campaign, keys, now)
    return PingSeen(duplicate=duplicate, sold_before=sold_before, claimed=claimed)


async def _first_answer(ports: Ports, campaign: Campaign, mark: str) -> Mapping[str, Any] | None:
    """The answer of the first ping with this fingerprint, which is still being auctioned:
    waited for at most the campaign's ping deadline and a margin (it answers by then), else
    :data:`PENDING`. ``None`` when its claim lapsed (its ping never answered) and this
    ping claimed the fingerprint in its stead."""
    first: Mapping[str, Any] | None = PENDING
    waited = 0.0
    limit = min(campaign.ping_deadline_ms + _ANSWER_MARGIN_MS, _MAX_WAIT_MS) / 1000
    while first is PENDING and waited < limit:
        await asyncio.sleep(_POLL_SECONDS)
        waited += _POLL_SECONDS
        first = await ports.ping_repeats.claim(campaign.id, mark, _ms(ports.clock.now()))
    return first


def _ms(now: dt.datetime) -> int:
    return int(now.timestamp() * 1000)
