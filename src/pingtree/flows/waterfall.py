"""The waterfall after a buyer refused its post (DESIGN §2, §8.6): the stored lead, made
ready to sell again, offered to the next bidders (``flows.sell.refill``)."""

from __future__ import annotations

from pingtree.domain.fields import values_from_json
from pingtree.domain.money import from_cents
from pingtree.domain.verticals import LeadValue, Vertical
from pingtree.flows.auction import quote_from_json
from pingtree.flows.picks import LeadToSell
from pingtree.flows.ports import Ports
from pingtree.flows.sell import refill
from pingtree.store.lead_fields import dedup_keys, open_fields
from pingtree.store.snapshot import Snapshot
from pingtree.store.tables import Lead
from pingtree.store.traffic import LeadRepository, PingRepository, SaleRepository

__all__ = ["lead_values", "next_bidders"]


async def next_bidders(ports: Ports, snapshot: Snapshot, lead_id: str) -> list[str]:
    """Sell the places the lead's refused sales freed to the next bidders of its auction;
    the new sales' ids to post. Nothing for a lead no longer pending, or erased (no person
    is left to sell: it settles as it stands)."""
    async with ports.sessions() as session:
        lead = await LeadRepository(session).get(lead_id)
        sales = await SaleRepository(session).for_lead(lead_id)
        ping = await PingRepository(session).get(lead.ping_id) if lead and lead.ping_id else None
    if lead is None or lead.status != "pending" or lead.erased_at is not None:
        return []
    campaign = snapshot.config.campaigns.get(lead.campaign_id)
    vertical = snapshot.config.verticals.get(lead.vertical_id)
    if campaign is None or vertical is None:
        return []
    values = lead_values(ports, vertical, lead)
    auction = lead.auction or {}
    ranking = [quote_from_json(row) for row in auction.get("ranking", [])]
    winners = set(auction.get("winners", []))
    to_sell = LeadToSell(
        id=lead.id,
        values=values,
        test=lead.test,
        now=ports.clock.now(),
        dedup_keys=dedup_keys(vertical, values, ports.vault),
        ranking=ranking,
        winners=[quote for quote in ranking if quote.order_id in winners],
        quoted_payout=from_cents(ping.bid_cents) if ping is not None else None,
        ping_id=lead.ping_id,
        auction=auction,
    )
    return await refill(ports, snapshot, campaign, to_sell, sales)


def lead_values(ports: Ports, vertical: Vertical, lead: Lead) -> dict[str, LeadValue]:
    """A stored lead's values, its PII opened."""
    opened = open_fields(vertical, lead.fields, ports.vault, reveal=True)
    return dict(values_from_json(vertical, opened))
