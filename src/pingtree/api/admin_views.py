"""What the admin API shows of the traffic, as plain dicts: the JSON routes and the UI's
pages both call these, so the UI holds no logic of its own.

Each takes the principal asking and shows only its scope (``api.scoping``): a supplier's
user its own campaigns' pings and leads without buyers, prices or margins; a buyer's user the
leads it bought, its own sales and its own exchanges. A ping or lead out of scope is missing,
as is a missing one: :class:`~pingtree.flows.errors.NotFound`. A section the principal may
not open is :class:`~pingtree.principals.Forbidden`. Naive datetimes in filters are UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pingtree.api.lead_search import person_keys
from pingtree.api.postback_views import postback_rows
from pingtree.api.scoping import open_section, scope_for
from pingtree.domain.money import format_money, from_cents
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.flows.trace import opened_auction, waterfall
from pingtree.principals import Forbidden, Principal, Scope
from pingtree.store.chain import ChainRepository
from pingtree.store.erasure import ERASED
from pingtree.store.lead_fields import open_answer, open_fields
from pingtree.store.postbacks import PostbackRepository
from pingtree.store.set_aside import SetAsideRepository
from pingtree.store.tables import AttemptRow, Lead, Ping, Sale
from pingtree.store.traffic import LeadRepository, PingRepository, SaleRepository
from pingtree.store.traffic_logs import AttemptRepository, PiiRevealRepository

__all__ = [
    "attempt_list",
    "lead_list",
    "lead_trace",
    "ping_list",
    "ping_trace",
    "reveal_list",
    "sale_list",
    "set_aside_list",
]

_CANDIDATE_KEYS = ("order_id", "buyer_id", "outcome", "reason", "price", "latency_ms")
_QUOTE_KEYS = ("order_id", "buyer_id", "leg", "price", "priority", "weight")
_ATTEMPT_COLUMNS = tuple(AttemptRow.__table__.columns.keys())
#: what a principal without ``Scope.money`` is shown for a price, revenue or margin
HIDDEN = "–"


async def ping_list(
    ports: Ports,
    principal: Principal,
    limit: int,
    *,
    campaign_id: str | None = None,
    status: str | None = None,
    test: bool | None = None,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """Pings, newest first; ``before`` is the last id of the previous page."""
    open_section(principal, "pings")
    scope = scope_for(ports, principal)
    await ports.pings.drained()  # the pings answered so far, all of them
    async with ports.sessions() as session:
        rows = await PingRepository(session).recent(
            limit, campaign_id, before, status=status, test=test, campaign_ids=scope.campaign_ids
        )
    return [_ping_summary(p, scope) for p in rows]


async def ping_trace(ports: Ports, principal: Principal, ping_id: str) -> dict[str, Any]:
    """A ping with its auction: every candidate order's outcome, the ranking, the winners,
    and the outbound exchanges made for it (the auction and exchanges to staff only)."""
    open_section(principal, "pings")
    scope = scope_for(ports, principal)
    await ports.pings.settled(ping_id)
    async with ports.sessions() as session:
        ping = await PingRepository(session).get(ping_id)
        attempts = await AttemptRepository(session).linked(None, ping_id) if ping else []
    if ping is None or not scope.has_campaign(ping.campaign_id):
        raise NotFound("no such ping")
    return {
        **_ping_summary(ping, scope),
        "fields": ping.fields,
        "auction": _trace(await opened_auction(ports.snapshots, ping.auction))
        if scope.everything
        else {},
        "attempts": [_attempt(a) for a in attempts] if scope.everything else [],
    }


async def lead_list(
    ports: Ports,
    principal: Principal,
    limit: int,
    *,
    campaign_id: str | None = None,
    status: str | None = None,
    buyer_id: str | None = None,
    test: bool | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    persons: Sequence[str] = (),
    ref: str | None = None,
    sub_id: str | None = None,
) -> list[dict[str, Any]]:
    """Leads, newest first. ``buyer_id``: those sold to that buyer; ``since``/``until``: the
    creation time, ``until`` excluded; ``before``: the last id of the previous page.
    ``email``/``phone``: a person's live leads, found by HMAC (``api.lead_search``), as are
    ``persons`` (HMAC indexes); ``ref``: the lead's id or the seller's ``lead_ref``;
    ``sub_id``: the seller's ``sub_id``. A buyer's user sees the leads sold to its buyer
    only. Finding a person by email or phone is for those who may see personal data (else
    :class:`Forbidden`): whether someone's email has leads is itself personal data."""
    open_section(principal, "leads")
    scope = scope_for(ports, principal)
    if (email is not None or phone is not None or persons) and not scope.pii:
        raise Forbidden(f"The {principal.role} role may not search by personal data.")
    keys = [*persons, *person_keys(ports.vault, email=email, phone=phone)]
    if scope.buyer_id is not None:
        if buyer_id and buyer_id != scope.buyer_id:
            return []
        buyer_id = scope.buyer_id
    async with ports.sessions() as session:
        rows = await LeadRepository(session).recent(
            limit,
            campaign_id=campaign_id,
            status=status,
            buyer_id=buyer_id,
            test=test,
            since=_utc(since),
            until=_utc(until),
            before=before,
            persons=keys,
            ref=ref,
            sub_id=sub_id,
            campaign_ids=scope.campaign_ids,
        )
    return [_lead_summary(lead, scope) for lead in rows]


async def lead_trace(
    ports: Ports, principal: Principal, lead_id: str, *, reveal: bool = False
) -> dict[str, Any]:
    """A lead, its sales, its auction and its outbound exchanges, as far as ``principal``'s
    scope goes. PII is masked unless ``reveal``, which needs the permission (else
    :class:`Forbidden`) and is recorded in the audit trail under ``principal.audit_name``."""
    open_section(principal, "leads")
    scope = scope_for(ports, principal)
    if reveal and not scope.pii:
        raise Forbidden(f"The {principal.role} role may not see personal data.")
    async with ports.sessions() as session:
        lead = await LeadRepository(session).get(lead_id)
        sales = await SaleRepository(session).for_lead(lead_id) if lead else []
        attempts = await AttemptRepository(session).linked(lead_id, lead.ping_id) if lead else []
        postbacks = await PostbackRepository(session).for_lead(lead_id) if lead else []
        chain = await ChainRepository(session).for_lead(lead_id) if lead else []
    if lead is None or not _lead_in_scope(lead, sales, scope):
        raise NotFound("no such lead")
    if reveal:
        async with ports.sessions.begin() as session:
            await PiiRevealRepository(session).record(
                lead_id, principal.audit_name, ports.clock.now()
            )
    if scope.buyer_id is not None:
        sales = [s for s in sales if s.buyer_id == scope.buyer_id]
        attempts = [a for a in attempts if a.buyer_id == scope.buyer_id]
        chain = [c for c in chain if c.buyer_id == scope.buyer_id]
    elif not scope.everything:
        sales, attempts, chain = [], [], []
    vertical = ports.snapshots.current().config.verticals.get(lead.vertical_id)
    fields = open_fields(vertical, lead.fields, ports.vault, reveal=reveal) if vertical else {}
    if lead.erased_at is not None and vertical is not None:
        # the person was erased (flows.erase): a reveal shows that, not a missing value
        fields.update({spec.name: ERASED for spec in vertical.fields if spec.pii})
    # the answer our seller got names the winning buyer's redirect: the operator's only
    answer = lead.answer if scope.everything else None
    return {
        **_lead_summary(lead, scope),
        "fields": fields,
        "answer": open_answer(answer, ports.vault, reveal=reveal) if answer else None,
        "sales": [_sale(s, scope) for s in sales],
        "auction": _trace(await opened_auction(ports.snapshots, lead.auction or {}))
        | waterfall((s.order_id, s.status) for s in sales)
        if scope.everything and lead.auction
        else {},
        "attempts": [_attempt(a) for a in attempts],
        # the steps after each sold post (delivery.chain): status, tries, reason
        "chain": [
            {
                "sale_id": c.sale_id,
                "position": c.position,
                "name": c.name,
                "order_id": c.order_id,
                "status": c.status,
                "tries": c.tries,
                "reason": c.reason,
                "updated_at": c.updated_at,
            }
            for c in chain
        ],
        # the campaign's conversion postbacks: the operator's only
        "postbacks": postback_rows(postbacks) if scope.everything else [],
    }


async def reveal_list(
    ports: Ports,
    principal: Principal,
    limit: int,
    *,
    lead_id: str | None = None,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """Who saw which lead's personal data, newest first (admins only)."""
    open_section(principal, "reveals")
    async with ports.sessions() as session:
        rows = await PiiRevealRepository(session).recent(limit, lead_id=lead_id, before=before)
    return [
        {"id": r.id, "lead_id": r.lead_id, "viewer": r.viewer, "revealed_at": r.revealed_at}
        for r in rows
    ]


async def set_aside_list(
    ports: Ports,
    principal: Principal,
    limit: int,
    *,
    writer: str | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    """Rows the background writers could not store, newest first, with how many each
    writer has set aside in all (DESIGN §9): an admin sees them, nothing blocks on them."""
    open_section(principal, "set-aside")
    async with ports.sessions() as session:
        repository = SetAsideRepository(session)
        rows = await repository.recent(limit, writer=writer, before=before)
        counts = await repository.counts()
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "rows": [
            {
                "id": r.id,
                "writer": r.writer,
                "row_key": r.row_key,
                "error": r.error,
                "created_at": r.created_at,
                "row": r.row,
            }
            for r in rows
        ],
    }


async def attempt_list(
    ports: Ports,
    principal: Principal,
    limit: int,
    *,
    order_id: str | None = None,
    buyer_id: str | None = None,
    outcome: str | None = None,
    kind: str | None = None,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """The delivery log: outbound pings and posts, newest first; a buyer's user sees its
    own buyer's only."""
    open_section(principal, "attempts")
    scope = scope_for(ports, principal)
    if scope.buyer_id is not None:
        if buyer_id and buyer_id != scope.buyer_id:
            return []
        buyer_id = scope.buyer_id
    async with ports.sessions() as session:
        rows = await AttemptRepository(session).recent(
            limit, order_id=order_id, buyer_id=buyer_id, outcome=outcome, kind=kind, before=before
        )
    return [_attempt(a) for a in rows]


async def sale_list(
    ports: Ports,
    principal: Principal,
    limit: int,
    *,
    buyer_id: str | None = None,
    before: str | None = None,
) -> list[dict[str, Any]]:
    open_section(principal, "sales")
    scope = scope_for(ports, principal)
    async with ports.sessions() as session:
        rows = await SaleRepository(session).recent(limit, buyer_id=buyer_id, before=before)
    return [_sale(s, scope) for s in rows]


def _lead_in_scope(lead: Lead, sales: Sequence[Sale], scope: Scope) -> bool:
    if not scope.has_campaign(lead.campaign_id):
        return False
    return scope.buyer_id is None or any(s.buyer_id == scope.buyer_id for s in sales)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _money(cents: int) -> str:
    return format_money(from_cents(cents))


def _ping_summary(ping: Ping, scope: Scope) -> dict[str, Any]:
    summary = {
        "id": ping.id,
        "campaign_id": ping.campaign_id,
        "supplier_id": ping.supplier_id,
        "vertical_id": ping.vertical_id,
        "test": ping.test,
        "status": ping.status,
        "reasons": ping.reasons,
        "bid": _money(ping.bid_cents),
        "revenue": _money(ping.revenue_cents),
        "created_at": ping.created_at,
        "expires_at": ping.expires_at,
        "claimed_at": ping.claimed_at,
        "lead_id": ping.lead_id,
    }
    if not scope.money:
        summary["revenue"] = HIDDEN
    return summary


def _lead_summary(lead: Lead, scope: Scope) -> dict[str, Any]:
    summary = {
        "id": lead.id,
        "campaign_id": lead.campaign_id,
        "supplier_id": lead.supplier_id,
        "vertical_id": lead.vertical_id,
        "ping_id": lead.ping_id,
        "test": lead.test,
        "status": lead.status,
        "reasons": lead.reasons,
        "revenue": _money(lead.revenue_cents),
        "cost": _money(lead.cost_cents),
        "profit": _money(lead.revenue_cents - lead.cost_cents),
        "created_at": lead.created_at,
        "erased_at": lead.erased_at,
    }
    if not scope.everything:
        # a supplier sees what it was paid (cost), never the revenue; a buyer neither the
        # lead's whole revenue (other buyers' too, on a shared lead) nor its cost
        summary["revenue"] = summary["profit"] = HIDDEN
        if scope.buyer_id is not None:
            summary["cost"] = HIDDEN
    return summary


def _sale(sale: Sale, scope: Scope) -> dict[str, Any]:
    shown = {
        "id": sale.id,
        "lead_id": sale.lead_id,
        "order_id": sale.order_id,
        "buyer_id": sale.buyer_id,
        "campaign_id": sale.campaign_id,
        "leg": sale.leg,
        "status": sale.status,
        "test": sale.test,
        "revenue": _money(sale.revenue_cents),
        "cost": _money(sale.cost_cents),
        "profit": _money(sale.revenue_cents - sale.cost_cents),
        "created_at": sale.created_at,
    }
    if not scope.everything:
        shown["cost"] = shown["profit"] = HIDDEN
    return shown


def _attempt(attempt: AttemptRow) -> dict[str, Any]:
    return {column: getattr(attempt, column) for column in _ATTEMPT_COLUMNS}


def _rows(rows: Sequence[Sequence[Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _trace(auction: Mapping[str, Any]) -> dict[str, Any]:
    """The stored compact auction, spelled out for readers."""
    if not auction:
        return {}
    trace = dict(auction)
    trace["candidates"] = _rows(auction.get("candidates", []), _CANDIDATE_KEYS)
    trace["ranking"] = _rows(auction.get("ranking", []), _QUOTE_KEYS)
    if "sale_notes" in auction:
        trace["sale_notes"] = _rows(auction["sale_notes"], _CANDIDATE_KEYS)
    return trace
