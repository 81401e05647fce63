"""Invoicing: a buyer's invoice or a supplier's payout statement for a period, previewed as a
draft at any time and fixed by issuing it (DESIGN §9, issue 14).

**Which entries a document holds.** The party's live ledger entries dated before the
period's end that are on no issued document: the period's own, and any earlier one not
invoiced yet (``carried``). An entry written later into a period already issued (a sale
sold after its invoice went out, an operator's back-dated correction) is on no issued
document, so the party's next one carries it; an issued document never changes. Each entry
is on one issued document at most (``invoice_entries``' key), so issued documents never
count an entry twice and, together with the next draft, add up to the ledger.

**Issuing**, in one transaction: take the kind's next number (which locks its counter until
the end: issues of one kind go one at a time, on both engines), refuse a period that starts
before the end of the party's last issued one (:class:`AlreadyIssued`: periods go forward,
so "carried" only ever means late), read the entries, store the document as built with
its entries marked. A document opens where the party's last one closed (0 before its
first): the entries on issued documents are exactly those, so its closing balance is the
sum of every entry before its end that it saw. Anything failing rolls the number back
with it: numbers have no gaps. A period still running cannot be issued (the view refuses it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import uuid_utils
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.invoices import (
    BUYER_KINDS,
    PREFIXES,
    SUPPLIER_KINDS,
    DocumentKind,
    Movement,
    Period,
    build_document,
    document_number,
)
from pingtree.flows.errors import FlowError
from pingtree.flows.ports import Ports
from pingtree.store.invoices import InvoiceRepository, ensure_counter
from pingtree.store.tables import Invoice, LedgerEntry

__all__ = [
    "AlreadyIssued",
    "Party",
    "draft_document",
    "issue_document",
    "issued_document",
    "issued_documents",
]


class AlreadyIssued(FlowError):
    """The period starts before the end of the party's last issued document (409)."""

    def __init__(self, number: str, end: dt.datetime) -> None:
        super().__init__(f"{number} covers this party up to {end.isoformat()}")
        self.number = number
        self.end = end


@dataclass(frozen=True, slots=True)
class Party:
    """Whom a document is for: a buyer (an invoice) or a supplier (a payout statement)."""

    kind: Literal["buyer", "supplier"]
    id: str
    name: str
    #: the zone its periods' days are counted in
    zone: str = "UTC"
    #: a buyer's ``prepaid`` or ``credit`` account, if it has one
    account_kind: str | None = None

    @property
    def account(self) -> str:
        """Its ledger account (``buyer:<id>``, ``supplier:<id>``)."""
        return f"{self.kind}:{self.id}"

    @property
    def document_kind(self) -> DocumentKind:
        return "invoice" if self.kind == "buyer" else "statement"

    @property
    def entry_kinds(self) -> tuple[str, ...]:
        return BUYER_KINDS if self.kind == "buyer" else SUPPLIER_KINDS


async def draft_document(ports: Ports, party: Party, period: Period) -> dict[str, Any]:
    """What issuing ``party``'s document for ``period`` now would hold, unnumbered."""
    async with ports.sessions() as session:
        return await _build(InvoiceRepository(session), party, period)


async def issue_document(
    ports: Ports, party: Party, period: Period, issued_by: str
) -> dict[str, Any]:
    """Issue ``party``'s document for ``period``: numbered, stored, fixed. Raises
    :class:`AlreadyIssued` for a period before the end of its last one."""
    issued_at = ports.clock.now()
    prefix = PREFIXES[party.document_kind]
    await ensure_counter(ports.sessions, prefix, issued_at.year)

    async def work(session: AsyncSession) -> dict[str, Any]:
        invoices = InvoiceRepository(session)
        sequence = await invoices.next_number(prefix, issued_at.year)
        if sequence is None:  # ensure_counter made it: a defect, not input
            raise RuntimeError(f"no {prefix} counter for {issued_at.year}")
        latest = await invoices.latest(party.account)
        if latest is not None and latest.period_end > period.start.astimezone(dt.UTC):
            raise AlreadyIssued(latest.number, latest.period_end)
        document, entry_ids = await _built(invoices, party, period, latest)
        number = document_number(party.document_kind, issued_at.year, sequence)
        document |= {
            "number": number,
            "status": "issued",
            "issued_by": issued_by,
            "issued_at": issued_at.astimezone(dt.UTC).isoformat(),
        }
        row = Invoice(
            id=str(uuid_utils.uuid7()),
            number=number,
            kind=party.document_kind,
            party=party.account,
            period_start=period.start,
            period_end=period.end,
            time_zone=period.zone,
            opening_cents=document["cents"]["opening"],
            closing_cents=document["cents"]["closing"],
            total_cents=document["cents"]["total"],
            document=document,
            issued_by=issued_by,
            issued_at=issued_at,
        )
        await invoices.add(row, entry_ids)
        return document

    return await ports.transactions.run(work)


async def issued_document(ports: Ports, number: str) -> tuple[str, dict[str, Any]] | None:
    """An issued document by its number: the party's account and the document as issued."""
    async with ports.sessions() as session:
        row = await InvoiceRepository(session).get(number)
    return None if row is None else (row.party, dict(row.document))


async def issued_documents(
    ports: Ports, *, party: str | None = None, kind: DocumentKind | None = None
) -> list[dict[str, Any]]:
    """Issued documents newest first (of one party's account or kind when given): number,
    kind, party, period, totals."""
    async with ports.sessions() as session:
        rows = await InvoiceRepository(session).listing(party=party, kind=kind)
    return [_summary(row) for row in rows]


def _summary(row: Invoice) -> dict[str, Any]:
    document = row.document
    return {
        "number": row.number,
        "kind": row.kind,
        "party": document["party"],
        "period": document["period"],
        "totals": document["totals"],
        "issued_by": row.issued_by,
        "issued_at": row.issued_at.astimezone(dt.UTC).isoformat(),
    }


async def _build(invoices: InvoiceRepository, party: Party, period: Period) -> dict[str, Any]:
    document, _ = await _built(invoices, party, period, await invoices.latest(party.account))
    return document


async def _built(
    invoices: InvoiceRepository, party: Party, period: Period, latest: Invoice | None
) -> tuple[dict[str, Any], list[str]]:
    """The document of the entries on no issued document, opening where ``latest`` (the
    party's last issued one) closed: every entry on an issued one is before its end and on
    it, so the balances need no second read (which could see entries the first did not)."""
    entries = await invoices.uninvoiced(party.account, party.entry_kinds, period.end)
    document = build_document(
        party.document_kind,
        {"kind": party.kind, "id": party.id, "name": party.name},
        period,
        _movements(entries),
        0 if latest is None else latest.closing_cents,
        account_kind=party.account_kind,
    )
    return document, [entry.id for entry in entries]


def _movements(entries: Sequence[LedgerEntry]) -> list[Movement]:
    return [
        Movement(
            entry_id=entry.id,
            kind=entry.kind,
            at=entry.at,
            amount_cents=entry.amount_cents,
            lead_id=entry.lead_id,
            order_id=entry.order_id,
            campaign_id=entry.campaign_id,
            note=entry.note,
        )
        for entry in entries
    ]
