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
from pingtree.store.tables import Sale
from pingtree.store.traffic import LeadAnswer, LeadRepository, SaleRepository

__all__ = ["Settled", "SoleSale", "settle", "sole_answer"]


@dataclass(frozen=True)
class Settled:
    lead_id: str
    campaign_id: str
    answer: dict[str, Any]


@dataclass(frozen=True)
class SoleSale:
    """A lead's one sale, just sold by its post's verdict, with the redirect URL (sealed)
    its buyer answered: all such a lead needs to settle, with nothing to read."""

    sale: Sale
    redirect_url: str | None


async def settle(
    session: AsyncSession, lead_id: str, now: dt.datetime, *, sole: SoleSale | None = None
) -> Settled | None:
    """Record the lead's answer in ``session``'s transaction, once none of its rows is
    open; ``None`` while one is, or when the lead is no longer pending. ``sole``: the lead
    has this one sale, whose row the caller has just closed."""
    leads = LeadRepository(session)
    if sole is not None:
        settled = sole_answer(sole)
        if not await leads.finish(lead_id, settled, now, first=True):
            return None
        return Settled(lead_id, sole.sale.campaign_id, settled.answer)
    rows = await OutboxRepository(session).for_lead(lead_id)
    if any(row.status in OPEN_STATUSES for row in rows):
        return None
    lead = await leads.standing(lead_id)
    if lead is None or lead.status != "pending":
        return None
    sales = await SaleRepository(session).for_lead(lead_id)
    sold = [sale for sale in sales if sale.status == "sold"]
    sold_ids = {sale.id for sale in sold}
    redirect = next(
        (r.redirect_url for r in rows if r.sale_id in sold_ids and r.redirect_url), None
    )
    answer = _answer(lead.id, lead.test, sold, sales, redirect)
    await leads.finish(
        lead_id,
        _finished(answer, sold),
        now,
        # a seller still waiting gets this; one answered already keeps its answer
        first=answer["status"] != "pending",
    )
    return Settled(lead_id, lead.campaign_id, answer)


def sole_answer(sole: SoleSale) -> LeadAnswer:
    """The settled columns of a lead whose one sale, ``sole``, its buyer just took."""
    sale = sole.sale
    return _finished(_answer(sale.lead_id, sale.test, [sale], [sale], sole.redirect_url), [sale])


def _finished(answer: dict[str, Any], sold: Sequence[Sale]) -> LeadAnswer:
    """The lead's columns as its answer settles them."""
    return LeadAnswer(
        status={"sold": "sold", "pending": "pending"}.get(answer["status"], "unsold"),
        reasons=answer.get("reasons", []),
        revenue_cents=sum(sale.revenue_cents for sale in sold),
        cost_cents=sum(sale.cost_cents for sale in sold),
        answer=answer,
    )


def _answer(
    lead_id: str, test: bool, sold: Sequence[Sale], sales: Sequence[Sale], redirect: str | None
) -> dict[str, Any]:
    if sold:
        cost = sum(sale.cost_cents for sale in sold)
        answer: dict[str, Any] = {
            "status": "sold",
            "lead_id": lead_id,
            "price": format_money(from_cents(cost)),
        }
        if redirect:
            answer["redirect_url"] = redirect
    elif any(sale.status == "unknown" for sale in sales):
        answer = {"status": "pending", "lead_id": lead_id}
    else:
        answer = rejected([Reason.ALL_BUYERS_DECLINED], lead_id=lead_id)
    if test:
        answer["test"] = True
    return answer
