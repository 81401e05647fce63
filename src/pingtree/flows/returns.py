"""Returns: a buyer's claim against a sale, and the money it moves (DESIGN §9, §8.7).

``requested`` → ``approved`` / ``denied``, one claim per sale:

- :func:`request_return`: the sale's buyer, within its order's ``return_window_days`` of
  the sale, or the operator's staff who run the marketplace (at any time: the window binds
  buyers), with a reason from the lead's vertical's list. A reason marked ``auto_approve``
  is approved in the same transaction (``decided_by`` ``rule:<reason>``).
- :func:`approve_return`: the staff. In one transaction: the sale's ``returned_at``, a
  ``return`` entry crediting the buyer its price, and, when the campaign charges returns
  back (``charge_back_returns``, the default), a ``chargeback`` entry taking the sale's
  payout off its supplier; the buyer's account gets the room back; the lead is
  ``returned`` once each of its sales is. The entries are dated the approval, so a closed
  period never changes.
- :func:`deny_return`: the staff, with a reason.

A decision is taken once: deciding a claim decided already is a :class:`Conflict`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import uuid_utils
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.fields import FieldError
from pingtree.domain.verticals import DEFAULT_RETURN_REASONS, ReturnReason
from pingtree.flows.errors import Conflict, InputError, NotFound
from pingtree.flows.money import forget_account
from pingtree.flows.ports import Ports
from pingtree.flows.postback import dispatch_postbacks, queue_postback
from pingtree.principals import Forbidden, Principal
from pingtree.store.accounts import credit_account
from pingtree.store.ledger import (
    EntryKind,
    LedgerRepository,
    buyer_account,
    new_entry,
    supplier_account,
)
from pingtree.store.tables import Lead, Return, Sale

__all__ = [
    "MAX_COMMENT",
    "approve_return",
    "deny_return",
    "request_return",
    "return_reasons",
    "window_closes",
]

#: the longest comment or decision note kept with a claim
MAX_COMMENT = 1000


def return_reasons(ports: Ports, vertical_id: str) -> tuple[ReturnReason, ...]:
    """The reasons a lead of ``vertical_id`` may be returned for."""
    vertical = ports.snapshots.current().config.verticals.get(vertical_id)
    return DEFAULT_RETURN_REASONS if vertical is None else vertical.return_reasons


def window_closes(ports: Ports, sale: Sale) -> dt.datetime:
    """Until when the sale's buyer may ask to return it: its order's
    ``return_window_days`` after the sale (an order no longer configured: the sale's own
    moment, closed)."""
    order = ports.snapshots.current().config.orders.get(sale.order_id)
    days = order.return_window_days if order is not None else 0
    return sale.created_at + dt.timedelta(days=days)


async def request_return(
    ports: Ports, principal: Principal, sale_id: str, reason: str, comment: str = ""
) -> Return:
    """A new claim against ``sale_id`` (approved at once when its reason says so).

    Raises ``NotFound`` for a sale the principal may not see (another buyer's: it is not
    told it exists); ``Forbidden`` for a principal who may not return leads;
    ``InputError`` naming ``reason`` or ``comment``; ``Conflict`` for a sale not sold, a
    claim already made, or a window that has closed."""
    if not (principal.may_operate or principal.role == "buyer"):
        raise Forbidden(f"The {principal.role} role may not return leads.")
    comment = _text(comment, "comment")
    now = ports.clock.now()

    async def work(session: AsyncSession) -> _Requested:
        sale = await session.get(Sale, sale_id)
        if sale is None or (principal.role == "buyer" and sale.buyer_id != principal.buyer_id):
            raise NotFound(f"no sale {sale_id!r}")
        reasons = return_reasons(ports, sale.vertical_id)
        chosen = next((r for r in reasons if r.code == reason), None)
        if chosen is None:
            allowed = ", ".join(r.code for r in reasons)
            raise InputError(
                [FieldError(("reason",), f"must be one of: {allowed}", "enum", reason)]
            )
        if sale.status != "sold":
            raise Conflict(f"the sale is {sale.status}, not sold: nothing to return", "not_sold")
        if await session.scalar(select(Return.id).where(Return.sale_id == sale.id)):
            raise Conflict("a return of this sale was requested already", "already_requested")
        closes = window_closes(ports, sale)
        if principal.role == "buyer" and closes < now:
            days = (closes - sale.created_at).days
            raise Conflict(
                f"the return window of this order ({days} days after the sale) has closed",
                "window_closed",
            )
        claim = Return(
            id=str(uuid_utils.uuid7()),
            sale_id=sale.id,
            lead_id=sale.lead_id,
            buyer_id=sale.buyer_id,
            order_id=sale.order_id,
            campaign_id=sale.campaign_id,
            supplier_id=sale.supplier_id,
            reason=chosen.code,
            comment=comment,
            status="requested",
            requested_by=principal.audit_name,
            requested_at=now,
            decision_note="",
            credit_cents=0,
            chargeback_cents=0,
        )
        session.add(claim)
        await session.flush()
        if not chosen.auto_approve:
            return _Requested(claim, moved=False)
        await _approve(session, ports, claim, sale, f"rule:{chosen.code}", "", now)
        return _Requested(claim, moved=True)

    requested = await ports.transactions.run(work)
    if requested.moved:
        await forget_account(ports, requested.claim.buyer_id)
        dispatch_postbacks(ports, requested.claim.lead_id)
    return requested.claim


async def approve_return(
    ports: Ports, principal: Principal, return_id: str, note: str = ""
) -> Return:
    """Approve a requested claim: the money moves back (see the module). Raises
    ``Forbidden`` unless the principal runs the marketplace, ``NotFound``, ``Conflict``
    when it was decided already."""
    _require_operator(principal)
    note = _text(note, "note")
    now = ports.clock.now()

    async def work(session: AsyncSession) -> Return:
        claim = await _requested(session, return_id)
        sale = await session.get(Sale, claim.sale_id)
        assert sale is not None  # a claim is made of a sale, and sales are never deleted
        await _approve(session, ports, claim, sale, principal.audit_name, note, now)
        return claim

    claim = await ports.transactions.run(work)
    await forget_account(ports, claim.buyer_id)
    dispatch_postbacks(ports, claim.lead_id)
    return claim


async def deny_return(ports: Ports, principal: Principal, return_id: str, note: str) -> Return:
    """Deny a requested claim, saying why (``note``, required). Raises as
    :func:`approve_return`, and ``InputError`` without a note."""
    _require_operator(principal)
    note = _text(note, "note")
    if not note:
        raise InputError([FieldError(("note",), "say why: the buyer is shown it", "missing")])
    now = ports.clock.now()

    async def work(session: AsyncSession) -> Return:
        claim = await _requested(session, return_id)
        await _decide(session, claim, "denied", principal.audit_name, note, now)
        return claim

    return await ports.transactions.run(work)


@dataclass(frozen=True)
class _Requested:
    claim: Return
    #: approved at once: the buyer's account moved
    moved: bool


async def _approve(
    session: AsyncSession,
    ports: Ports,
    claim: Return,
    sale: Sale,
    decided_by: str,
    note: str,
    now: dt.datetime,
) -> None:
    campaign = ports.snapshots.current().config.campaigns.get(sale.campaign_id)
    charge_back = campaign.charge_back_returns if campaign is not None else True
    await _decide(session, claim, "approved", decided_by, note, now)
    claim.credit_cents = sale.revenue_cents
    claim.chargeback_cents = sale.cost_cents if charge_back else 0
    entries = [
        new_entry(
            EntryKind.RETURN,
            buyer_account(sale.buyer_id),
            claim.credit_cents,
            now,
            principal=decided_by,
            note=claim.reason,
            sale=sale,
            return_id=claim.id,
        )
    ]
    if claim.chargeback_cents:
        entries.append(
            new_entry(
                EntryKind.CHARGEBACK,
                supplier_account(sale.supplier_id),
                -claim.chargeback_cents,
                now,
                principal=decided_by,
                note=claim.reason,
                sale=sale,
                return_id=claim.id,
            )
        )
    if not sale.test:
        await credit_account(session, sale.buyer_id, claim.credit_cents)
    await LedgerRepository(session).add(entries)
    sale.returned_at = now
    sale.return_reason = claim.reason
    await session.flush()
    await _mark_lead(session, sale.lead_id, now)
    # the tracker hears of it: {payout} is what was charged back (0.00 when nothing was)
    await queue_postback(session, campaign, sale.lead_id, "returned", claim.chargeback_cents, now)


async def _mark_lead(session: AsyncSession, lead_id: str, now: dt.datetime) -> None:
    """The lead is ``returned`` once every sale of it that was sold is returned."""
    sold = (
        await session.scalars(
            select(Sale.returned_at).where(Sale.lead_id == lead_id, Sale.status == "sold")
        )
    ).all()
    if sold and all(returned is not None for returned in sold):
        await session.execute(
            update(Lead).where(Lead.id == lead_id).values(status="returned", updated_at=now)
        )


async def _requested(session: AsyncSession, return_id: str) -> Return:
    claim = await session.get(Return, return_id)
    if claim is None:
        raise NotFound(f"no return {return_id!r}")
    if claim.status != "requested":
        raise Conflict(f"the return was {claim.status} already", "already_decided")
    return claim


async def _decide(
    session: AsyncSession,
    claim: Return,
    status: str,
    decided_by: str,
    note: str,
    now: dt.datetime,
) -> None:
    """Take the decision once: a conditional update, so two deciders racing (two workers,
    two hosts) cannot both move the money."""
    taken = await session.execute(
        update(Return)
        .where(Return.id == claim.id, Return.status == "requested")
        .values(status=status, decided_by=decided_by, decided_at=now, decision_note=note)
        .returning(Return.id)
    )
    if taken.first() is None:
        raise Conflict("the return was decided already", "already_decided")
    claim.status, claim.decided_by, claim.decided_at = status, decided_by, now
    claim.decision_note = note


def _require_operator(principal: Principal) -> None:
    if not principal.may_operate:
        raise Forbidden(f"The {principal.role} role may not decide returns.")


def _text(value: str, name: str) -> str:
    value = value.strip()
    if len(value) > MAX_COMMENT:
        raise InputError(
            [FieldError((name,), f"at most {MAX_COMMENT} characters", "string_too_long")]
        )
    return value
