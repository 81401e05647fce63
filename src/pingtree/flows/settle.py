"""Settling a lead once its posts are done (DESIGN §2 "Outbox", §8.6): the lead's final
answer, for the seller who waits, a repeat of the post, ``GET /api/v1/leads/{id}`` and the
campaign's postback.

sold (the price is the payout on the sales the buyers took, with the first redirect URL),
pending (an unknown post holds its place until an operator resolves it), or rejected
(``all_buyers_declined``). Nothing is settled while one of the lead's outbox rows is open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.money import format_money, from_cents
from pingtree.domain.outcomes import Reason
from pingtree.flows.requests import rejected
from pingtree.store.outbox import OPEN_STATUSES, OutboxRepository
from pingtree.store.tables import Delivery, Sale
from pingtree.store.traffic import LeadRepository, LeadStanding, SaleRepository

__all__ = ["Settled", "settle"]


@dataclass(frozen=True)
class Settled:
    lead_id: str
    campaign_id: str
    answer: dict[str, Any]


async def settle(session: AsyncSession, lead_id: str, now: dt.datetime) -> Settled | None:
    """Record the lead's answer in ``session``'s transaction, once none of its rows is
    open; ``None`` while one is, or when the lead is no longer pending."""
    rows = await OutboxRepository(session).for_lead(lead_id)
    if any(row.status in OPEN_STATUSES for row in rows):
        return None
    leads = LeadRepository(session)
    lead = await leads.standing(lead_id)
    if lead is None or lead.status != "pending":
        return None
    sales = await SaleRepository(session).for_lead(lead_id)
    sold = [sale for sale in sales if sale.status == "sold"]
    answer = _answer(lead, sold, sales, rows)
    await leads.finish(
        lead_id,
        status={"sold": "sold", "pending": "pending"}.get(answer["status"], "unsold"),
        reasons=answer.get("reasons", []),
        revenue_cents=sum(sale.revenue_cents for sale in sold),
        cost_cents=sum(sale.cost_cents for sale in sold),
        answer=answer,
        auction=None,
        now=now,
        # a seller still waiting gets this; one answered already keeps its answer
        first=answer["status"] != "pending",
    )
    return Settled(lead_id, lead.campaign_id, answer)


def _answer(
    lead: LeadStanding, sold: Sequence[Sale], sales: Sequence[Sale], rows: Sequence[Delivery]
) -> dict[str, Any]:
    if sold:
        cost = sum(sale.cost_cents for sale in sold)
        answer: dict[str, Any] = {
            "status": "sold",
            "lead_id": lead.id,
            "price": format_money(from_cents(cost)),
        }
        sold_ids = {sale.id for sale in sold}
        redirect = next(
            (r.redirect_url for r in rows if r.sale_id in sold_ids and r.redirect_url), None
        )
        if redirect:
            answer["redirect_url"] = redirect
    elif any(sale.status == "unknown" for sale in sales):
        answer = {"status": "pending", "lead_id": lead.id}
    else:
        answer = rejected([Reason.ALL_BUYERS_DECLINED], lead_id=lead.id)
    if lead.test:
        answer["test"] = True
    return answer
