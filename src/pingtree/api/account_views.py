"""Accounts as plain dicts: the admin API, the buyer and supplier APIs and the UI's pages
all call these (``flows.money`` moves the money, ``store.ledger`` keeps it).

Staff see every account, and those who run the marketplace top up and adjust; a buyer sees
its own balance, credit limit and entries (never the supplier); a supplier its own payouts,
chargebacks and adjustments (never the buyer or its order). Money is text with two
decimals (``"12.50"``), from integer cents.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.money import format_money, from_cents
from pingtree.flows.errors import NotFound
from pingtree.flows.money import adjust, top_up
from pingtree.flows.ports import Ports
from pingtree.principals import Forbidden, Principal
from pingtree.store.accounts import IN_FLIGHT
from pingtree.store.ledger import LedgerRepository, buyer_account, supplier_account
from pingtree.store.tables import LedgerEntry, Sale

__all__ = ["account_list", "account_view", "adjust_account", "top_up_buyer"]


async def account_list(ports: Ports, principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """Every buyer's and supplier's balance (staff): ``{"buyers": [...], "suppliers": [...]}``.
    A buyer's row has its account kind, credit limit and what it can still spend."""
    if not principal.is_staff:
        raise Forbidden(f"The {principal.role} role may not see every account.")
    config = ports.snapshots.current().config
    async with ports.sessions() as session:
        ledger = LedgerRepository(session)
        buyers = await ledger.balances("buyer")
        suppliers = await ledger.balances("supplier")
        in_flight = await _in_flight(session)
    return {
        "buyers": [
            _buyer_account(b.id, b.name, buyers.get(buyer_account(b.id), 0), in_flight, ports)
            for b in config.buyers.values()
        ],
        "suppliers": [
            {
                "id": s.id,
                "name": s.name,
                "balance": format_money(from_cents(suppliers.get(supplier_account(s.id), 0))),
            }
            for s in config.suppliers.values()
        ],
    }


async def account_view(
    ports: Ports,
    principal: Principal,
    party: str,
    party_id: str,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """One account: its balance and its entries in ``[start, end)`` (oldest first, up to
    ``limit``). Staff see any; a buyer or a supplier only its own."""
    _may_see_account(principal, party, party_id)
    config = ports.snapshots.current().config
    known = config.buyers if party == "buyer" else config.suppliers
    if party_id not in known:
        raise NotFound(f"no {party} {party_id!r}")
    account = buyer_account(party_id) if party == "buyer" else supplier_account(party_id)
    async with ports.sessions() as session:
        ledger = LedgerRepository(session)
        balance = await ledger.balance(account)
        entries = await ledger.entries(account=account, start=start, end=end, limit=limit)
        in_flight = await _in_flight(session) if party == "buyer" else {}
    name = known[party_id].name
    head = (
        _buyer_account(party_id, name, balance, in_flight, ports)
        if party == "buyer"
        else {"id": party_id, "name": name, "balance": format_money(from_cents(balance))}
    )
    return head | {
        "party": party,
        "entries": [_entry_json(entry, principal) for entry in entries],
    }


async def top_up_buyer(
    ports: Ports, principal: Principal, buyer_id: str, amount: Decimal, note: str = ""
) -> dict[str, Any]:
    """Record money received from a buyer (staff who run the marketplace)."""
    _require_operator(principal)
    entry = await top_up(ports, principal.audit_name, buyer_id, amount, note)
    return _entry_json(entry, principal)


async def adjust_account(
    ports: Ports, principal: Principal, party: str, party_id: str, amount: Decimal, note: str
) -> dict[str, Any]:
    """Move money into (or, negative, out of) a buyer's or supplier's account, saying why."""
    _require_operator(principal)
    entry = await adjust(ports, principal.audit_name, party, party_id, amount, note)
    return _entry_json(entry, principal)


def _buyer_account(
    buyer_id: str, name: str, balance: int, in_flight: dict[str, int], ports: Ports
) -> dict[str, Any]:
    buyer = ports.snapshots.current().config.buyers.get(buyer_id)
    account = buyer.account if buyer is not None else None
    held = in_flight.get(buyer_id, 0)
    out: dict[str, Any] = {
        "id": buyer_id,
        "name": name,
        "kind": account.kind.value if account is not None else None,
        "balance": format_money(from_cents(balance)),
        "in_flight": format_money(from_cents(held)),
    }
    if account is not None:
        out["credit_limit"] = format_money(from_cents(account.credit_limit_cents))
        out["available"] = format_money(from_cents(balance - held + account.credit_limit_cents))
    return out


async def _in_flight(session: AsyncSession) -> dict[str, int]:
    """Each buyer's live sales still being delivered (their price held, not yet booked)."""
    rows = await session.execute(
        select(Sale.buyer_id, func.sum(Sale.revenue_cents))
        .where(Sale.status.in_(IN_FLIGHT), Sale.test.is_(False))
        .group_by(Sale.buyer_id)
    )
    return {buyer_id: int(total) for buyer_id, total in rows}


def _entry_json(entry: LedgerEntry, principal: Principal) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": entry.id,
        "kind": entry.kind,
        "account": entry.account,
        "amount": format_money(from_cents(entry.amount_cents)),
        "at": entry.at.isoformat(),
        "lead_id": entry.lead_id,
        "sale_id": entry.sale_id,
        "return_id": entry.return_id,
        "note": entry.note,
    }
    if principal.role != "supplier":
        out["order_id"] = entry.order_id
    if principal.role != "buyer":
        out["campaign_id"] = entry.campaign_id
    if principal.is_staff:
        out |= {
            "buyer_id": entry.buyer_id,
            "supplier_id": entry.supplier_id,
            "principal": entry.principal,
        }
    return out


def _may_see_account(principal: Principal, party: str, party_id: str) -> None:
    if party not in ("buyer", "supplier"):
        raise NotFound(f"no account kind {party!r}: buyer or supplier")
    if principal.is_staff:
        return
    own = principal.buyer_id if party == "buyer" else principal.supplier_id
    if principal.role != party or own != party_id:
        raise Forbidden(f"The {principal.role} role may see only its own account.")


def _require_operator(principal: Principal) -> None:
    if not principal.may_operate:
        raise Forbidden(f"The {principal.role} role may not move money.")
