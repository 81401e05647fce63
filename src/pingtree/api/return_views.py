"""Returns as plain dicts: the admin API, the buyer and supplier APIs and the UI's pages all
call these (``flows.returns`` does the work).

Who sees what (DESIGN §9): staff see every return, and those who run the marketplace
(admins and operators) return any sale and decide; a buyer sees and requests its own, within
its order's window; a supplier sees its own campaigns' returns with what was charged back,
never the buyer, its price or its order. Money is text with two decimals, from cents.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pingtree.api.scoping import open_section, scope_for
from pingtree.domain.money import format_money, from_cents
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.flows.returns import (
    approve_return,
    deny_return,
    request_return,
    return_reasons,
    window_closes,
)
from pingtree.principals import Forbidden, Principal
from pingtree.store.tables import Return, Sale

__all__ = [
    "RETURN_STATUSES",
    "ask_return",
    "decide_return",
    "lead_returns",
    "reasons_for_lead",
    "return_list",
]

RETURN_STATUSES = ("requested", "approved", "denied")


async def return_list(
    ports: Ports,
    principal: Principal,
    *,
    status: str | None = None,
    limit: int = 100,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """The returns the principal may see, newest first; ``before`` is the last id of the
    previous page."""
    open_section(principal, "returns")
    scope = scope_for(ports, principal)
    query = (
        select(Return, Sale.revenue_cents, Sale.cost_cents)
        .join(Sale, Sale.id == Return.sale_id)
        .order_by(Return.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Return.status == status)
    if before:
        query = query.where(Return.id < before)
    if scope.buyer_id is not None:
        query = query.where(Return.buyer_id == scope.buyer_id)
    if scope.campaign_ids is not None:
        query = query.where(Return.campaign_id.in_(sorted(scope.campaign_ids)))
    async with ports.sessions() as session:
        rows = (await session.execute(query)).all()
    return [_return_json(row, principal, price, payout) for row, price, payout in rows]


async def ask_return(
    ports: Ports,
    principal: Principal,
    *,
    reason: str,
    comment: str = "",
    sale_id: str | None = None,
    lead_id: str | None = None,
) -> dict[str, Any]:
    """Request a return: staff name the ``sale_id``; a buyer names the ``lead_id`` it
    bought (a buyer buys a lead once). Approved at once when the reason says so."""
    open_section(principal, "returns")
    if principal.role == "buyer":
        if lead_id is None:
            raise NotFound("name the lead (lead_id) to return")
        sale_id = await _bought_sale(ports, principal, lead_id)
    elif sale_id is None:
        if lead_id is None:
            raise NotFound("name the sale (sale_id) to return")
        sale_id = await _only_sale(ports, lead_id)
    claim = await request_return(ports, principal, sale_id, reason, comment)
    return _return_json(claim, principal)


async def decide_return(
    ports: Ports, principal: Principal, return_id: str, *, approve: bool, note: str = ""
) -> dict[str, Any]:
    """Approve or deny a requested return (staff who run the marketplace)."""
    open_section(principal, "returns")
    if approve:
        claim = await approve_return(ports, principal, return_id, note)
    else:
        claim = await deny_return(ports, principal, return_id, note)
    return _return_json(claim, principal)


async def lead_returns(ports: Ports, principal: Principal, lead_id: str) -> dict[str, Any]:
    """A lead's returns as the principal may see them, and which of its sales it may return
    now, for the lead's pages: ``{"returns": [...], "returnable": [...], "reasons": [...]}``.

    A returnable sale is sold and not claimed yet: for a buyer, its own, until its order's
    ``return_window_days`` after the sale (``window_closes``); for staff who run the
    marketplace, any (the window binds buyers). Others may return nothing; a supplier sees
    its own campaigns' returns of the lead, without buyer or price."""
    open_section(principal, "returns")
    scope = scope_for(ports, principal)
    claims = (
        select(Return, Sale.revenue_cents, Sale.cost_cents)
        .join(Sale, Sale.id == Return.sale_id)
        .where(Return.lead_id == lead_id)
        .order_by(Return.id)
    )
    sales = select(Sale).where(Sale.lead_id == lead_id, Sale.status == "sold").order_by(Sale.id)
    if scope.buyer_id is not None:
        claims = claims.where(Return.buyer_id == scope.buyer_id)
        sales = sales.where(Sale.buyer_id == scope.buyer_id)
    if scope.campaign_ids is not None:
        claims = claims.where(Return.campaign_id.in_(sorted(scope.campaign_ids)))
    async with ports.sessions() as session:
        rows = (await session.execute(claims)).all()
        sold = (await session.scalars(sales)).all() if _may_return(principal) else []
    claimed = {row.sale_id for row, _, _ in rows}
    now = ports.clock.now()
    returnable: list[dict[str, Any]] = []
    for sale in sold:
        if sale.id in claimed:
            continue
        closes = None
        if principal.role == "buyer":
            closes = window_closes(ports, sale)
            if closes < now:
                continue
        returnable.append(
            {
                "sale_id": sale.id,
                "order_id": sale.order_id,
                "buyer_id": sale.buyer_id,
                "price": format_money(from_cents(sale.revenue_cents)),
                "window_closes": closes.isoformat() if closes is not None else None,
            }
        )
    reasons = (
        [
            {"code": r.code, "label": r.label, "auto_approve": r.auto_approve}
            for r in return_reasons(ports, sold[0].vertical_id)
        ]
        if returnable
        else []
    )
    return {
        "returns": [_return_json(row, principal, price, payout) for row, price, payout in rows],
        "returnable": returnable,
        "reasons": reasons,
    }


def _may_return(principal: Principal) -> bool:
    return principal.may_operate or principal.role == "buyer"


async def reasons_for_lead(
    ports: Ports, principal: Principal, lead_id: str
) -> list[dict[str, Any]]:
    """The reasons the lead may be returned for (its vertical's list), for a form; a buyer
    asks only of a lead it bought."""
    open_section(principal, "returns")
    query = select(Sale.vertical_id).where(Sale.lead_id == lead_id).limit(1)
    if principal.role == "buyer":
        query = query.where(Sale.buyer_id == principal.buyer_id, Sale.status == "sold")
    elif not principal.is_staff:
        raise Forbidden(f"The {principal.role} role may not return leads.")
    async with ports.sessions() as session:
        vertical_id = await session.scalar(query)
    if vertical_id is None:
        raise NotFound(f"no sale of lead {lead_id!r}")
    return [
        {"code": r.code, "label": r.label, "auto_approve": r.auto_approve}
        for r in return_reasons(ports, vertical_id)
    ]


async def _bought_sale(ports: Ports, principal: Principal, lead_id: str) -> str:
    async with ports.sessions() as session:
        sale_id = await session.scalar(
            select(Sale.id).where(
                Sale.lead_id == lead_id,
                Sale.buyer_id == principal.buyer_id,
                Sale.status == "sold",
            )
        )
    if sale_id is None:
        raise NotFound(f"no lead {lead_id!r} bought")
    return str(sale_id)


async def _only_sale(ports: Ports, lead_id: str) -> str:
    async with ports.sessions() as session:
        ids = (
            await session.scalars(
                select(Sale.id).where(Sale.lead_id == lead_id, Sale.status == "sold")
            )
        ).all()
    if not ids:
        raise NotFound(f"no sold sale of lead {lead_id!r}")
    if len(ids) > 1:
        raise NotFound(f"lead {lead_id!r} was sold to {len(ids)} buyers: name the sale_id")
    return str(ids[0])


def _return_json(
    row: Return, principal: Principal, price: int | None = None, payout: int | None = None
) -> dict[str, Any]:
    """A claim as ``principal`` may see it; ``price`` and ``payout`` are its sale's (in
    cents), what an approval would credit the buyer and charge its supplier back."""
    out: dict[str, Any] = {
        "id": row.id,
        "lead_id": row.lead_id,
        "reason": row.reason,
        "comment": row.comment,
        "status": row.status,
        "requested_at": row.requested_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "decision_note": row.decision_note,
    }
    if principal.role != "supplier":  # the buyer side: never shown to a supplier
        out |= {
            "sale_id": row.sale_id,
            "buyer_id": row.buyer_id,
            "order_id": row.order_id,
            "credit": format_money(from_cents(row.credit_cents)),
        }
        if price is not None:
            out["price"] = format_money(from_cents(price))
    if principal.role != "buyer":  # the supplier side: never shown to a buyer
        out |= {
            "campaign_id": row.campaign_id,
            "supplier_id": row.supplier_id,
            "chargeback": format_money(from_cents(row.chargeback_cents)),
        }
        if payout is not None:
            out["payout"] = format_money(from_cents(payout))
    if principal.is_staff:
        out |= {"requested_by": row.requested_by, "decided_by": row.decided_by}
    return out
