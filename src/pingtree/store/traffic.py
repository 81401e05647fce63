"""Repositories for the traffic: pings, leads and sales.

They keep the caller's session, offer named queries and never commit: the flow owns the
transaction (STYLE "Storage").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Table, Update, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.dedup import INBOUND
from pingtree.store.ledger import book_new_sales, book_sales
from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, DedupKey, Lead, Ping, Sale

__all__ = [
    "LeadAnswer",
    "LeadRepository",
    "LeadStanding",
    "PingRepository",
    "SaleRepository",
    "finish_params",
    "finishing_lead",
]

#: the tables themselves: a Core statement costs less than the ORM's bulk path (the sale's)
_PING = Base.metadata.tables[Ping.__tablename__]
_LEAD = Base.metadata.tables[Lead.__tablename__]
_SALE = Base.metadata.tables[Sale.__tablename__]


class PingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, ping_id: str) -> Ping | None:
        return await self._session.get(Ping, ping_id)

    async def find_repeat(self, campaign_id: str, key: str, now: dt.datetime) -> Ping | None:
        """The unexpired ping of this campaign sent with the same idempotency key, if any."""
        query = (
            select(Ping)
            .where(
                Ping.campaign_id == campaign_id,
                Ping.idempotency_key == key,
                Ping.expires_at > now,
            )
            .order_by(Ping.created_at)
            .limit(1)
        )
        return (await self._session.scalars(query)).first()

    async def insert(self, row: Mapping[str, Any]) -> None:
        """A new ping's row, by column (a Core statement: no unit of work to flush)."""
        await _INSERT_PING.run(self._session, row)

    async def claim(self, ping_id: str, post_digest: str, now: dt.datetime, lead_id: str) -> bool:
        """Atomically mark an accepted, unexpired, unclaimed ping as used by one post, whose
        lead is ``lead_id``."""
        params = {"ping": ping_id, "at": now, "digest": post_digest, "lead": lead_id}
        return bool(await _CLAIM.rows(self._session, params))

    async def recent(
        self,
        limit: int,
        campaign_id: str | None = None,
        before: str | None = None,
        *,
        status: str | None = None,
        test: bool | None = None,
        campaign_ids: Collection[str] | None = None,
    ) -> Sequence[Ping]:
        """Newest first. ``campaign_ids``: only these campaigns' (a principal's scope)."""
        query = select(Ping).order_by(Ping.id.desc()).limit(limit)
        if campaign_ids is not None:
            query = query.where(Ping.campaign_id.in_(sorted(campaign_ids)))
        if campaign_id:
            query = query.where(Ping.campaign_id == campaign_id)
        if status:
            query = query.where(Ping.status == status)
        if test is not None:
            query = query.where(Ping.test == test)
        if before:
            query = query.where(Ping.id < before)
        return (await self._session.scalars(query)).all()


@dataclass(frozen=True)
class LeadStanding:
    id: str
    campaign_id: str
    #: ``received``, ``pending`` while its posts are made, ``sold``, ``unsold``, ``rejected``
    status: str
    test: bool


@dataclass(frozen=True)
class LeadAnswer:
    """A lead's columns as its answer settles them (:meth:`LeadRepository.finish`)."""

    status: str
    reasons: list[str]
    revenue_cents: int
    cost_cents: int
    answer: dict[str, Any]


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def insert(self, lead: Lead) -> None:
        """Insert a new lead at once (a Core statement: no unit of work to flush)."""
        await _INSERT_LEAD.run(self._session, _values(_LEAD, lead))

    async def get(self, lead_id: str) -> Lead | None:
        return await self._session.get(Lead, lead_id)

    async def by_ping(self, ping_id: str) -> Lead | None:
        return (await self._session.scalars(select(Lead).where(Lead.ping_id == ping_id))).first()

    async def by_idempotency_key(self, campaign_id: str, key: str) -> Lead | None:
        query = (
            select(Lead)
            .where(Lead.campaign_id == campaign_id, Lead.idempotency_key == key)
            .order_by(Lead.created_at)
            .limit(1)
        )
        return (await self._session.scalars(query)).first()

    async def finish(
        self,
        lead_id: str,
        settled: LeadAnswer,
        now: dt.datetime,
        *,
        auction: dict[str, Any] | None = None,
        first: bool = False,
    ) -> bool:
        """The settled lead's state and answer, if it is still ``pending`` (``False`` when
        it is not); ``first``: the answer is also the seller's first, unless one is recorded
        (see :meth:`answer_first`)."""
        values = finish_params(lead_id, settled, now, first=first)
        if auction is not None:
            values["auction"] = auction
        return bool(await _FINISH_LEAD[auction is not None, first].rows(self._session, values))

    async def standing(self, lead_id: str) -> LeadStanding | None:
        """Where the lead stands, without its fields and auction (nothing to decode)."""
        lead = _LEAD.c
        row = (
            await self._session.execute(
                select(lead.id, lead.campaign_id, lead.status, lead.test).where(lead.id == lead_id)
            )
        ).first()
        return LeadStanding(*row) if row is not None else None

    async def answer_first(self, lead_id: str, answer: dict[str, Any]) -> dict[str, Any] | None:
        """Record ``answer`` as the one the seller's post got, unless one is recorded: the
        first answer, which a repeat of the post gets again (``None`` if no such lead)."""
        await self._session.execute(
            update(_LEAD)
            .where(_LEAD.c.id == lead_id, _LEAD.c.first_answer.is_(None))
            .values(first_answer=answer)
        )
        return await self._session.scalar(select(Lead.first_answer).where(Lead.id == lead_id))

    async def note_auction(self, lead_id: str, auction: dict[str, Any]) -> None:
        """Replace the lead's kept auction (the waterfall adds its sale notes)."""
        await self._session.execute(
            update(_LEAD).where(_LEAD.c.id == lead_id).values(auction=auction)
        )

    async def recent(
        self,
        limit: int,
        *,
        campaign_id: str | None = None,
        status: str | None = None,
        before: str | None = None,
        buyer_id: str | None = None,
        test: bool | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        persons: Sequence[str] = (),
        ref: str | None = None,
        sub_id: str | None = None,
        campaign_ids: Collection[str] | None = None,
    ) -> Sequence[Lead]:
        """Newest first. ``buyer_id``: leads sold to that buyer; ``since``/``until``: the
        creation time, ``until`` excluded; ``campaign_ids``: only these campaigns' (a
        principal's scope)."""
        query = select(Lead).order_by(Lead.id.desc()).limit(limit)
        for person in persons:
            # a person's HMAC index (api.lead_search): the live leads remembered under it
            inbound = select(DedupKey.lead_id).where(
                DedupKey.buyer_id == INBOUND, DedupKey.key_hmac == person
            )
            query = query.where(Lead.id.in_(inbound))
        if ref:  # the lead's id or the seller's own reference
            query = query.where(or_(Lead.id == ref, Lead.fields["lead_ref"].as_string() == ref))
        if sub_id:
            query = query.where(Lead.fields["sub_id"].as_string() == sub_id)
        if campaign_ids is not None:
            query = query.where(Lead.campaign_id.in_(sorted(campaign_ids)))
        if campaign_id:
            query = query.where(Lead.campaign_id == campaign_id)
        if status:
            query = query.where(Lead.status == status)
        if buyer_id:
            query = query.where(Lead.id.in_(select(Sale.lead_id).where(Sale.buyer_id == buyer_id)))
        if test is not None:
            query = query.where(Lead.test == test)
        if since is not None:
            query = query.where(Lead.created_at >= since)
        if until is not None:
            query = query.where(Lead.created_at < until)
        if before:
            query = query.where(Lead.id < before)
        return (await self._session.scalars(query)).all()


class SaleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def insert(self, sales: Sequence[Sale]) -> None:
        """Insert new sales at once (a Core statement: no unit of work to flush), with the
        ledger's entries of those sold at once."""
        if sales:
            await _INSERT_SALE.run(self._session, [_values(_SALE, s) for s in sales])
            await book_new_sales(self._session, sales)

    async def set_cost(self, sale_id: str, cost_cents: int, now: dt.datetime) -> None:
        """A sale's payout split again; a sale already booked gets an adjustment."""
        await self._session.execute(
            update(_SALE).where(_SALE.c.id == sale_id).values(cost_cents=cost_cents)
        )
        await book_sales(self._session, [sale_id], now)

    async def set_status(self, sale_id: str, status: str) -> Sale | None:
        """A sale's new status, and its ledger entries once it is sold; the sale as it now
        stands, ``None`` when there is no such sale or it was sold already. ``sold`` is
        final and only a sold sale is ever booked, so a sale becoming sold has no entries
        yet (:func:`book_new_sales`) and another status has nothing to book."""
        query = _SELL if status == "sold" else _SET_STATUS
        row = await query.first(self._session, {"sale": sale_id, "to": status})
        if row is None:
            return None
        sale = Sale(**row)
        if status == "sold":
            await book_new_sales(self._session, [sale])
        return sale

    async def for_lead(self, lead_id: str) -> Sequence[Sale]:
        query = select(Sale).where(Sale.lead_id == lead_id).order_by(Sale.created_at, Sale.id)
        return (await self._session.scalars(query)).all()

    async def recent(
        self, limit: int, *, buyer_id: str | None = None, before: str | None = None
    ) -> Sequence[Sale]:
        query = select(Sale).order_by(Sale.id.desc()).limit(limit)
        if buyer_id:
            query = query.where(Sale.buyer_id == buyer_id)
        if before:
            query = query.where(Sale.id < before)
        return (await self._session.scalars(query)).all()


def _values(table: Table, row: Base) -> dict[str, Any]:
    """A new ORM object's column values, for a Core insert."""
    return {column.key: getattr(row, column.key) for column in table.columns}


# --- the sale path's statements, built once (executed with their parameters) ---------------

_INSERT_LEAD = Prepared(insert(_LEAD), deferrable=True)


def finish_params(
    lead_id: str, settled: LeadAnswer, now: dt.datetime, *, first: bool, prefix: str = ""
) -> dict[str, Any]:
    """The parameters of :func:`finishing_lead`'s statement (without an auction)."""
    values: dict[str, Any] = {
        "lead": lead_id,
        "status": settled.status,
        "reasons": settled.reasons,
        "revenue_cents": settled.revenue_cents,
        "cost_cents": settled.cost_cents,
        "answer": settled.answer,
        "updated_at": now,
    }
    if first:
        values["answer_given"] = settled.answer
    return {prefix + name: value for name, value in values.items()}


def finishing_lead(*, auction: bool, first: bool, prefix: str = "") -> Update:
    """A pending lead's settled state: with its auction or not, its answer also the first
    unless one is recorded or not (:meth:`LeadRepository.finish`; parameters:
    :func:`finish_params`, their names after ``prefix``: in a statement of other tables'
    writes, a parameter named as one of their columns would be taken for its value)."""

    def param(name: str, column: str) -> BindParameter[Any]:
        return bindparam(prefix + name, type_=_LEAD.c[column].type)

    columns = ["status", "reasons", "revenue_cents", "cost_cents", "answer", "updated_at"]
    values: dict[str, Any] = {name: param(name, name) for name in columns}
    if auction:
        values["auction"] = param("auction", "auction")
    if first:
        first_answer = _LEAD.c.first_answer
        values["first_answer"] = func.coalesce(first_answer, param("answer_given", "answer"))
    return (
        update(_LEAD)
        .where(_LEAD.c.id == param("lead", "id"), _LEAD.c.status == "pending")
        .values(**values)
        .returning(_LEAD.c.id)
    )


_FINISH_LEAD = {
    (auction, first): Prepared(finishing_lead(auction=auction, first=first))
    for auction in (False, True)
    for first in (False, True)
}
_INSERT_SALE = Prepared(insert(_SALE), deferrable=True)
_INSERT_PING = Prepared(insert(_PING), deferrable=True)

#: an accepted, unexpired, unclaimed ping marked as used by one post
_CLAIM = Prepared(
    update(_PING)
    .where(
        _PING.c.id == bindparam("ping"),
        _PING.c.status == "accepted",
        _PING.c.claimed_at.is_(None),
        _PING.c.expires_at > bindparam("at"),
    )
    .values(claimed_at=bindparam("at"), post_digest=bindparam("digest"), lead_id=bindparam("lead"))
    .returning(_PING.c.id)
)

_SALE_STATUS = (
    update(_SALE)
    .where(_SALE.c.id == bindparam("sale"))
    .values(status=bindparam("to"))
    .returning(*_SALE.c)
)
#: a sale's new status, and the sale as it now stands
_SET_STATUS = Prepared(_SALE_STATUS)
#: a sale becoming sold (once: ``sold`` is final)
_SELL = Prepared(_SALE_STATUS.where(_SALE.c.status != "sold"))
