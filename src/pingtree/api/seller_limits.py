"""A seller call under its campaign's rate limits, refused as HTTP 429 (DESIGN §8.2, §8.6).

The refusal is ``{"detail": {"msg", "type": "rate_limited", "limit": {scope, call, kind,
limit, retry_after}}}`` with ``Retry-After`` in whole seconds; in a seller's own format
(``api.inbound_answers``), the same message and header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pingtree.api.problems import Problem
from pingtree.flows.ports import Ports
from pingtree.flows.rate_limits import RateLimited, admitted

__all__ = ["seller_admitted"]


@asynccontextmanager
async def seller_admitted(
    ports: Ports, campaign_id: str, key_id: str, call: str
) -> AsyncIterator[None]:
    """Run the block if the campaign's and the key's limits on ``call`` have room; else
    raise the 429 :class:`Problem` naming the limit."""
    campaign = ports.snapshots.current().config.campaigns.get(campaign_id)
    if campaign is None:  # removed since the key was checked: the flow refuses it
        yield
        return
    try:
        async with admitted(ports, campaign, key_id, call):
            yield
    except RateLimited as error:
        refusal = error.refusal
        raise Problem(
            429,
            str(error),
            "rate_limited",
            headers={"Retry-After": str(refusal.retry_after)},
            extra={"limit": refusal.describe()},
        ) from None
