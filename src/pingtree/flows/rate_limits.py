"""Admitting a seller call under its campaign's rate limits (DESIGN §8.6).

    the campaign's and the key's limits for this kind of call (none: nothing to do)
    → take a place in each counter at once (one Redis round trip, or none in-process)
    → no room: :class:`RateLimited` (the API answers 429 with ``Retry-After``)
    → room: the call runs; its places among the ``concurrent`` ones are given back when
      it ends, whatever its end

The counters live in ``store.rate_limits``; no database is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pingtree.domain.campaigns import Campaign
from pingtree.domain.rate_limits import Refusal, checks_for, key_limits
from pingtree.flows.ports import Ports
from pingtree.flows.requests import new_id

__all__ = ["RateLimited", "admitted"]


class RateLimited(Exception):
    """A seller call refused by a rate limit: ``refusal`` says which, and for how long."""

    def __init__(self, refusal: Refusal) -> None:
        check = refusal.check
        super().__init__(
            f"too many requests: the {check.scope}'s limit of {check.limit}"
            f" {_UNITS[check.kind.value]} for {check.call} calls"
        )
        self.refusal = refusal


_UNITS = {
    "per_second": "a second",
    "per_minute": "a minute",
    "concurrent": "at once",
}


@asynccontextmanager
async def admitted(ports: Ports, campaign: Campaign, key_id: str, call: str) -> AsyncIterator[None]:
    """Run the block as one ``call`` (``ping``, ``post``, ``direct_post``) of key
    ``key_id`` of ``campaign`` if its limits have room; else raise :class:`RateLimited`
    before it runs."""
    limits = key_limits(key_id, campaign.key_rate_limits, campaign.own_key_rate_limits)
    checks = checks_for(campaign.id, key_id, call, campaign.rate_limits, limits)
    if not checks:
        yield
        return
    request_id = new_id()
    now_ms = int(ports.clock.now().timestamp() * 1000)
    refusal = await ports.rate_limits.take(checks, request_id, now_ms)
    if refusal is not None:
        raise RateLimited(refusal)
    try:
        yield
    finally:
        ports.rate_limits.give_back(checks, request_id)
