"""A post's claim on its ping (``flows.post``, ``flows.sell``).

A ping stored by the pings' writer is claimed where it is stored, if it is still open. One
answered by this process a moment ago and still queued in the writer is taken from it
(:meth:`~pingtree.store.batch_writer.BatchWriter.take`) and goes in with the sale, claimed:
no wait for the writer's batch, no statement of its own. It goes back to the writer if the
sale's transaction did not commit.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.flows.picks import LeadToSell
from pingtree.store.batch_writer import Taken
from pingtree.store.traffic import PingRepository

__all__ = ["PingClaim", "claim_ping", "stored_with"]

T = TypeVar("T")


@dataclass(frozen=True)
class PingClaim:
    """A post's claim on its ping, by the post's digest."""

    ping_id: str
    digest: str
    #: the ping, taken from this process's pings' writer before it was stored (and found
    #: open by the post): its row goes in with the sale, claimed; ``None``: the stored
    #: ping is claimed if it is still open
    taken: Taken[dict[str, Any]] | None = None


async def claim_ping(session: AsyncSession, claim: PingClaim, lead: LeadToSell) -> bool:
    """The post's ping claimed by its lead: the stored one if it is still open; one taken
    from its writer goes in claimed (the post found it open)."""
    pings = PingRepository(session)
    if claim.taken is None:
        return await pings.claim(claim.ping_id, claim.digest, lead.now, lead.id)
    claimed = {"claimed_at": lead.now, "post_digest": claim.digest, "lead_id": lead.id}
    await pings.insert({**claim.taken.row(), **claimed})
    return True


async def stored_with(taken: Taken[Any], sale: Awaitable[T | None]) -> T | None:
    """``sale``'s transaction, then ``taken`` told whether it was stored with it (what
    the transaction returned is not ``None``)."""
    placed = None
    try:
        placed = await sale
    finally:
        taken.ended(placed is not None)
    return placed
