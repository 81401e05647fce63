"""Erasing a consumer's PII from every table that may hold it (DESIGN §8.5, §9), and the
audit trail of erasures.

What a lead keeps: its row with its ids, status, money, timestamps and non-PII fields; its
sales; its pings (which never hold PII). What goes:

- the lead's PII fields (their ciphertexts, and any PII field kept in clear), and any of
  its free text (answers, the auction's reasons, the idempotency key) holding a PII value;
- the delivery log of its exchanges: bodies, headers and what was parsed are dropped, the
  URL is cut to its origin (a buyer's echo may hold PII, whatever the masking did);
- its dedup keys (HMACs of its phone and email), so it no longer matches the person;
- rows a writer set aside that concern it;
- the text of its outbox rows (reason, redirect URL, token) that holds a PII value;
- the notes of the buyers' dispositions of it (a buyer may name the consumer in one); their
  codes and values stay.

The repository never commits: the flow (``flows.erase``) owns each batch's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import uuid_utils
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.verticals import FieldType, Vertical
from pingtree.store.dispositions import DispositionRepository
from pingtree.store.lead_fields import value_key
from pingtree.store.pii_text import ERASED, holds, origin, pii_values, scrub, scrub_auction
from pingtree.store.secrets import PiiVault
from pingtree.store.tables import AttemptRow, Base, DedupKey, Delivery, Erasure, Lead, SetAside

__all__ = ["ERASED", "ERASED_EXCHANGE", "ErasedLead", "ErasureRepository", "consumer_key"]

_LEAD = Base.metadata.tables[Lead.__tablename__]
_ATTEMPT = Base.metadata.tables[AttemptRow.__tablename__]
_DELIVERY = Base.metadata.tables[Delivery.__tablename__]
_SALE = Base.metadata.tables["sales"]

#: what an erased lead's delivery log keeps of each exchange: none of what was said
ERASED_EXCHANGE: Mapping[str, Any] = {
    "request_headers": {},
    "request_body": "",
    "response_headers": {},
    "response_body": "",
    "parsed": {},
}


def consumer_key(kind: FieldType, value: str, vault: PiiVault) -> str:
    """The dedup key (HMAC index) of one normalized phone or email: the same as the sale's
    (:func:`pingtree.store.lead_fields.dedup_keys`)."""
    return value_key(kind, value, vault)


@dataclass(frozen=True)
class ErasedLead:
    """One lead whose PII was erased, and what became of its open outbox rows."""

    id: str
    #: sales whose post was still queued: abandoned (nothing was sent after the erasure)
    abandoned_sales: tuple[str, ...]


class ErasureRepository:
    """Finding a consumer's leads and erasing their PII in ``session``; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- finding leads -------------------------------------------------------------------

    async def leads_by_keys(self, key_hmacs: Collection[str]) -> list[str]:
        """The leads whose phone or email has one of these dedup keys: every live lead is
        in the inbound history (test leads are not: :meth:`test_leads`)."""
        if not key_hmacs:
            return []
        rows = await self._session.scalars(
            select(DedupKey.lead_id).where(DedupKey.key_hmac.in_(set(key_hmacs))).distinct()
        )
        return sorted(rows)

    async def test_leads(
        self, after: str | None, limit: int
    ) -> Sequence[tuple[str, str, dict[str, Any]]]:
        """``(id, vertical id, fields)`` of not yet erased test leads, by id after
        ``after``: they never enter the dedup history, so a search decrypts them."""
        query = (
            select(Lead.id, Lead.vertical_id, Lead.fields)
            .where(Lead.test.is_(True), Lead.erased_at.is_(None))
            .order_by(Lead.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(Lead.id > after)
        return [(i, v, f) for i, v, f in await self._session.execute(query)]

    async def lead_exists(self, lead_id: str) -> bool:
        return await self._session.scalar(select(Lead.id).where(Lead.id == lead_id)) is not None

    async def older_leads(
        self, since: dt.datetime | None, before: dt.datetime, limit: int
    ) -> list[tuple[str, dt.datetime]]:
        """``(id, created at)`` of not yet erased leads created in ``[since, before)``,
        oldest first, locked for the caller's transaction: on PostgreSQL, a lead another
        worker's retention is erasing is waited for, then left out (never skipped while
        unerased: the next run starts where this one stopped)."""
        query = (
            select(Lead.id, Lead.created_at)
            .where(Lead.created_at < before, Lead.erased_at.is_(None))
            .order_by(Lead.created_at, Lead.id)
            .limit(limit)
            .with_for_update()
        )
        if since is not None:
            query = query.where(Lead.created_at >= since)
        return [(i, c) for i, c in await self._session.execute(query)]

    async def retention_mark(self) -> dt.datetime | None:
        """Where retention stopped: every lead created before it is erased."""
        result: dt.datetime | None = await self._session.scalar(
            select(func.max(Erasure.older_than)).where(Erasure.kind == "retention")
        )
        return result

    # --- erasing -------------------------------------------------------------------------

    async def erase(
        self,
        lead_ids: Sequence[str],
        vault: PiiVault,
        verticals: Mapping[str, Vertical],
        now: dt.datetime,
    ) -> list[ErasedLead]:
        """Erase the PII of these leads everywhere it lives (the module's list), in the
        caller's transaction. Leads erased already are erased again (nothing left to
        find); unknown ids are skipped."""
        if not lead_ids:
            return []
        leads = (await self._session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))).all()
        erased: list[ErasedLead] = []
        ping_ids: set[str] = set()
        for lead in leads:
            values = pii_values(lead, verticals.get(lead.vertical_id), vault)
            await self._erase_lead(lead, values, verticals.get(lead.vertical_id), vault, now)
            await self._erase_attempts(lead.id, values)
            abandoned = await self._erase_deliveries(lead.id, values, now)
            await self._erase_sale_text(lead.id, values)
            erased.append(ErasedLead(lead.id, abandoned))
            if lead.ping_id is not None:
                ping_ids.add(lead.ping_id)
        ids = [lead.id for lead in erased]
        await self._session.execute(delete(DedupKey).where(DedupKey.lead_id.in_(ids)))
        await DispositionRepository(self._session).forget_notes(ids)
        await self._drop_set_aside(set(ids), ping_ids)
        return erased

    async def forget_keys(self, key_hmacs: Collection[str]) -> None:
        """Drop every dedup key of the person, whichever lead recorded it."""
        if key_hmacs:
            await self._session.execute(
                delete(DedupKey).where(DedupKey.key_hmac.in_(set(key_hmacs)))
            )

    async def _erase_lead(
        self,
        lead: Lead,
        values: Sequence[str],
        vertical: Vertical | None,
        vault: PiiVault,
        now: dt.datetime,
    ) -> None:
        pii = {spec.name for spec in vertical.fields if spec.pii} if vertical else set()
        fields = {
            name: value
            for name, value in lead.fields.items()
            if name not in pii and not (isinstance(value, str) and vault.is_encrypted(value))
        }
        key = lead.idempotency_key
        await self._session.execute(
            update(_LEAD)
            .where(_LEAD.c.id == lead.id)
            .values(
                fields=scrub(fields, values),
                answer=_without_redirect(scrub(lead.answer, values)),
                first_answer=_without_redirect(scrub(lead.first_answer, values)),
                auction=scrub_auction(lead.auction, values),
                idempotency_key=None if key is not None and holds(key, values) else key,
                erased_at=now,
            )
        )

    async def _erase_attempts(self, lead_id: str, values: Sequence[str]) -> None:
        rows = await self._session.execute(
            select(AttemptRow.id, AttemptRow.url, AttemptRow.error).where(
                AttemptRow.lead_id == lead_id
            )
        )
        changes = [
            {"b_id": attempt_id, "b_url": origin(url), "b_error": scrub(error, values)}
            for attempt_id, url, error in rows
        ]
        if not changes:
            return
        row = _ATTEMPT.c
        await self._session.execute(
            update(_ATTEMPT)
            .where(row.id == bindparam("b_id"))
            .values(url=bindparam("b_url"), error=bindparam("b_error"), **ERASED_EXCHANGE),
            changes,
        )

    async def _erase_deliveries(
        self, lead_id: str, values: Sequence[str], now: dt.datetime
    ) -> tuple[str, ...]:
        """Scrub the lead's outbox rows; a row still queued is abandoned (``failed``, its
        sale rejected): no PII leaves after an erasure. A row being sent is left to its
        worker (the lead already left with it)."""
        rows = (
            await self._session.scalars(select(Delivery).where(Delivery.lead_id == lead_id))
        ).all()
        row = _DELIVERY.c
        abandoned: list[str] = []
        for delivery in rows:
            if delivery.status == "queued":
                # conditional: a worker that took the row meanwhile is posting it already
                taken = await self._session.execute(
                    update(_DELIVERY)
                    .where(row.sale_id == delivery.sale_id, row.status == "queued")
                    .values(
                        status="failed",
                        reason="lead erased before delivery",
                        lease_until=None,
                        updated_at=now,
                    )
                    .returning(row.sale_id)
                )
                if taken.first() is not None:
                    abandoned.append(delivery.sale_id)
            for column in (row.reason, row.redirect_url, row.token):
                text = getattr(delivery, column.key)
                # a sealed redirect URL may hold the person's data: it goes whole
                if text is not None and (holds(text, values) or PiiVault.is_encrypted(text)):
                    # only the text read here: a verdict written since stands
                    await self._session.execute(
                        update(_DELIVERY)
                        .where(row.sale_id == delivery.sale_id, column == text)
                        .values({column.key: ERASED})
                    )
        if abandoned:
            await self._session.execute(
                update(_SALE)
                .where(_SALE.c.id.in_(abandoned), _SALE.c.status == "pending")
                .values(status="rejected")
            )
        return tuple(abandoned)

    async def _erase_sale_text(self, lead_id: str, values: Sequence[str]) -> None:
        """A return's reason, typed by a person, may name the consumer."""
        rows = await self._session.execute(
            select(_SALE.c.id, _SALE.c.return_reason).where(
                _SALE.c.lead_id == lead_id, _SALE.c.return_reason.is_not(None)
            )
        )
        for sale_id, reason in rows:
            if holds(reason, values):
                await self._session.execute(
                    update(_SALE).where(_SALE.c.id == sale_id).values(return_reason=ERASED)
                )

    async def _drop_set_aside(self, lead_ids: set[str], ping_ids: set[str]) -> None:
        """Set-aside rows of these leads: an attempt of the lead, the lead's ping. Few rows
        are ever set aside, so they are read whole."""
        rows = await self._session.execute(select(SetAside.id, SetAside.row_key, SetAside.row))
        doomed = [
            row_id
            for row_id, key, row in rows
            if key in lead_ids
            or key in ping_ids
            or (isinstance(row, Mapping) and (row.get("lead_id") in lead_ids))
            or (isinstance(row, Mapping) and (row.get("ping_id") in ping_ids))
        ]
        if doomed:
            await self._session.execute(delete(SetAside).where(SetAside.id.in_(doomed)))

    # --- the audit trail -----------------------------------------------------------------

    async def record(
        self,
        principal: str,
        kind: str,
        subject: str,
        leads: int,
        now: dt.datetime,
        older_than: dt.datetime | None = None,
    ) -> Erasure:
        row = Erasure(
            id=str(uuid_utils.uuid7()),
            principal=principal,
            kind=kind,
            subject=subject,
            older_than=older_than,
            leads=leads,
            created_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def recent(self, limit: int, *, before: str | None = None) -> Sequence[Erasure]:
        query = select(Erasure).order_by(Erasure.id.desc()).limit(limit)
        if before:
            query = query.where(Erasure.id < before)
        return (await self._session.scalars(query)).all()


def _without_redirect(answer: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored answer without its sealed redirect URL (``store.lead_fields``), which may
    hold the person's data where no search can see it."""
    if not answer or not PiiVault.is_encrypted(str(answer.get("redirect_url", ""))):
        return answer
    return {**answer, "redirect_url": ERASED}
