"""The rows and answers a sale writes: its sales, the new lead's row as the sale's
transaction leaves it, and the seller's answer (``flows.sell``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pingtree.domain.campaigns import Campaign
from pingtree.domain.money import format_money, to_cents
from pingtree.domain.outcomes import Reason
from pingtree.flows.picks import LeadToSell, Pick
from pingtree.flows.requests import new_id, rejected
from pingtree.store.tables import Lead, Sale

__all__ = ["accepted", "fill_lead_row", "final_answer", "new_sale"]


def new_sale(
    campaign: Campaign, lead: LeadToSell, pick: Pick, cost: Decimal, *, post: bool
) -> Sale:
    return Sale(
        id=new_id(),
        lead_id=lead.id,
        order_id=pick.quote.order_id,
        buyer_id=pick.quote.buyer_id,
        campaign_id=campaign.id,
        supplier_id=campaign.supplier_id,
        vertical_id=campaign.vertical_id,
        leg=str(pick.quote.leg),
        test=lead.test,
        status="pending" if post else "sold",
        revenue_cents=to_cents(pick.quote.price),
        cost_cents=to_cents(cost),
        created_at=lead.now,
    )


def fill_lead_row(
    row: Lead,
    status: str,
    answer: dict[str, Any] | None,
    first_answer: dict[str, Any] | None,
    auction: Mapping[str, Any],
    now: dt.datetime,
) -> None:
    """The new lead's row as the transaction leaves it."""
    row.status = status
    row.reasons = list(answer.get("reasons", [])) if answer is not None else []
    row.answer = answer
    row.first_answer = first_answer
    row.auction = dict(auction)
    row.updated_at = now


def final_answer(lead: LeadToSell, sales: Sequence[Sale], payout: Decimal) -> dict[str, Any]:
    if sales:
        answer: dict[str, Any] = {
            "status": "sold",
            "lead_id": lead.id,
            "price": format_money(payout),
        }
    else:
        answer = rejected([Reason.ALL_BUYERS_DECLINED], lead_id=lead.id)
    if lead.test:
        answer["test"] = True
    return answer


def accepted(lead: LeadToSell) -> dict[str, Any]:
    """The answer while the lead is being delivered, for a seller that does not wait."""
    answer: dict[str, Any] = {"status": "accepted", "lead_id": lead.id}
    if lead.test:
        answer["test"] = True
    return answer
