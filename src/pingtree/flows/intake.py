"""Taking a full lead in: the durable lead row and the inbound duplicate check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pingtree.domain.model import Campaign, LeadValue, Vertical
from pingtree.flows.ports import Ports
from pingtree.flows.requests import new_id
from pingtree.store.dedup import DedupRepository
from pingtree.store.lead_fields import seal_fields
from pingtree.store.secrets import PiiVault
from pingtree.store.tables import Lead
from pingtree.store.traffic import LeadRepository

__all__ = ["INBOUND", "finish_rejected", "inbound_duplicate", "last_sold", "new_lead"]

#: the dedup "buyer" under which every received lead is remembered, whoever sold it to us
INBOUND = "*"


def new_lead(
    campaign: Campaign,
    vertical: Vertical,
    values: Mapping[str, LeadValue],
    vault: PiiVault,
    *,
    test: bool,
    now: dt.datetime,
    ping_id: str | None = None,
    idempotency_key: str | None = None,
) -> Lead:
    return Lead(
        id=new_id(),
        campaign_id=campaign.id,
        supplier_id=campaign.supplier_id,
        vertical_id=campaign.vertical_id,
        ping_id=ping_id,
        test=test,
        status="received",
        reasons=[],
        fields=seal_fields(vertical, values, vault),
        revenue_cents=0,
        cost_cents=0,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
    )


async def inbound_duplicate(
    ports: Ports,
    campaign: Campaign,
    lead_id: str,
    keys: Sequence[str],
    test: bool,
    now: dt.datetime,
) -> bool:
    """Whether any supplier sent us this consumer within the campaign's inbound window.

    Every live lead is remembered for later checks; test leads never enter dedup history.
    """
    if test or not keys:
        return False
    async with ports.sessions.begin() as session:
        dedup = DedupRepository(session)
        seen = campaign.inbound_dedup_days > 0 and await dedup.seen(
            INBOUND, keys, now - dt.timedelta(days=campaign.inbound_dedup_days)
        )
        await dedup.record(INBOUND, keys, lead_id, now)
    return bool(seen)


async def finish_rejected(
    ports: Ports, lead_id: str, answer: dict[str, Any], auction: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Record a persisted lead's rejection and its answer; the answer, for the seller."""
    async with ports.sessions.begin() as session:
        await LeadRepository(session).finish(
            lead_id,
            status="rejected",
            reasons=answer["reasons"],
            revenue_cents=0,
            cost_cents=0,
            answer=answer,
            auction=dict(auction) if auction is not None else None,
            now=ports.clock.now(),
        )
    return answer


async def last_sold(ports: Ports, keys: Sequence[str], test: bool) -> Mapping[str, dt.datetime]:
    """The newest sale of this consumer (by phone/email keys) to each buyer: per-buyer dedup.
    Test leads have no dedup history."""
    if test or not keys:
        return {}
    async with ports.sessions() as session:
        return await DedupRepository(session).last_sold(keys)
