"""Taking a full lead in: its row, and the inbound duplicate check (both in the sale's one
transaction, ``flows.sell``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.campaigns import Campaign
from pingtree.domain.verticals import LeadValue, Vertical
from pingtree.flows.requests import new_id
from pingtree.store.dedup import DedupRepository
from pingtree.store.lead_fields import seal_fields
from pingtree.store.secrets import PiiVault
from pingtree.store.tables import Lead

__all__ = ["INBOUND", "new_lead", "seen_inbound"]

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


async def seen_inbound(
    session: AsyncSession, campaign: Campaign, keys: Sequence[str], now: dt.datetime
) -> bool:
    """Whether any supplier sent us this consumer (by its phone/email ``keys``) within the
    campaign's inbound window; a campaign without one never refuses a duplicate."""
    if campaign.inbound_dedup_days <= 0:
        return False
    since = now - dt.timedelta(days=campaign.inbound_dedup_days)
    return await DedupRepository(session).seen(INBOUND, keys, since)
