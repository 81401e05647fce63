"""Money after the sale: the ledger, returns, dispositions, invoices and their numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingtree.store.tables.base import Base

__all__ = ["Disposition", "Invoice", "InvoiceCounter", "InvoiceEntry", "LedgerEntry", "Return"]


class LedgerEntry(Base):
    """One immutable money event in integer cents (DESIGN §9): never updated, never deleted;
    a correction is a new entry.

    ``amount_cents`` is signed, what the entry adds to its ``account``'s balance:

    - a buyer (``buyer:<id>``): ``topup`` +, ``sale`` − (the price), ``return`` + (the
      credit), ``adjustment`` ±. Its balance is what it has prepaid and not spent; on
      credit it goes negative, down to the credit limit.
    - a supplier (``supplier:<id>``): ``payout`` + (what it earns), ``chargeback`` −,
      ``adjustment`` ±. Its balance is what the marketplace owes it.

    A sale's entries are dated the sale's ``created_at``, a return's the day it was
    approved, so a closed period never changes (§8.7). Test traffic's entries are marked
    ``test``: the test reports read them; balances, invoices and live reports never do.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ``sale``, ``payout``, ``return``, ``chargeback``, ``topup`` or ``adjustment``
    kind: Mapped[str] = mapped_column(String(16))
    #: ``buyer:<id>`` or ``supplier:<id>``
    account: Mapped[str] = mapped_column(String(80))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    #: the sale (and its lead) a ``sale``, ``payout``, ``return`` or ``chargeback`` is of
    sale_id: Mapped[str | None] = mapped_column(String(36))
    lead_id: Mapped[str | None] = mapped_column(String(36), index=True)
    #: the return a ``return`` or ``chargeback`` entry carries out
    return_id: Mapped[str | None] = mapped_column(String(36))
    #: the sale's dimensions, for reports from the ledger (``None`` for a top-up)
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    supplier_id: Mapped[str | None] = mapped_column(String(64))
    buyer_id: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(64))
    vertical_id: Mapped[str | None] = mapped_column(String(64))
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    #: who made it: ``system`` (a sale), ``user:<id>``, ``key:<id>``, ``cli``
    principal: Mapped[str] = mapped_column(String(80))
    #: why (a top-up's or an adjustment's reason, a return's reason code)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_ledger_entries_account_at", "account", "at"),
        Index("ix_ledger_entries_sale_id", "sale_id"),
    )


class Return(Base):
    """A buyer's claim against one sale (DESIGN §9): ``requested`` → ``approved`` /
    ``denied``. One per sale. Approval writes the ``return`` entry (and, by the campaign's
    rule, the ``chargeback``) and sets the sale's ``returned_at``."""

    __tablename__ = "returns"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sale_id: Mapped[str] = mapped_column(String(36), unique=True)
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    buyer_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[str] = mapped_column(String(64))
    #: a reason code from the vertical's list of return reasons
    reason: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    #: ``requested``, ``approved`` or ``denied``
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[dt.datetime] = mapped_column(index=True)
    #: who decided (``rule:<reason>`` for an automatic approval), when, and why
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    #: what the approval credited the buyer and charged the supplier back
    credit_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    chargeback_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class Disposition(Base):
    """What a buyer reported happened to a lead it bought (DESIGN §9): a code of its
    vertical's list (``domain.dispositions``), an optional value in cents (a policy's
    premium) and a short note. Several per sale over time; the latest is its current one.
    The sale's dimensions are copied so reports need no join to read them."""

    __tablename__ = "dispositions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36))
    sale_id: Mapped[str] = mapped_column(String(36), index=True)
    buyer_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[str] = mapped_column(String(64))
    vertical_id: Mapped[str] = mapped_column(String(64))
    test: Mapped[bool] = mapped_column(Boolean)
    #: a disposition code: ``contacted``, ``sold``, ``bad_number``…
    code: Mapped[str] = mapped_column(String(64))
    value_cents: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    #: ``user:<id>`` (a portal or staff user) or ``key:<id>`` (a buyer key, an admin token)
    reported_by: Mapped[str] = mapped_column(String(80))
    reported_at: Mapped[dt.datetime] = mapped_column(index=True)

    __table_args__ = (
        Index("ix_dispositions_lead_reported", "lead_id", "reported_at"),
        Index("ix_dispositions_buyer_reported", "buyer_id", "reported_at"),
    )


# --- invoices and statements -------------------------------------------------------------


class Invoice(Base):
    """An issued invoice (a buyer's) or payout statement (a supplier's): ``number`` from its
    kind's yearly sequence (``INV-2026-0001``, ``ST-2026-0001``), the period, the party, the
    totals and the lines as issued in ``document``. Never updated: entries written later
    into its period go on the party's next one (``store.invoices``)."""

    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    #: ``invoice`` (a buyer's) or ``statement`` (a supplier's)
    kind: Mapped[str] = mapped_column(String(16))
    #: the ledger account it is of: ``buyer:<id>`` or ``supplier:<id>``
    party: Mapped[str] = mapped_column(String(80))
    #: ``[period_start, period_end)``, whole days of ``time_zone``
    period_start: Mapped[dt.datetime]
    period_end: Mapped[dt.datetime]
    time_zone: Mapped[str] = mapped_column(String(64))
    #: the party's balance before and after its lines, and what the lines add up to
    opening_cents: Mapped[int] = mapped_column(BigInteger)
    closing_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    #: the whole document as issued: party, period, lines, totals
    document: Mapped[dict[str, Any]]
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_invoices_party_period_end", "party", "period_end"),)


class InvoiceEntry(Base):
    """A ledger entry on an issued invoice or statement: each entry on one at most."""

    __tablename__ = "invoice_entries"

    entry_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(36), index=True)


class InvoiceCounter(Base):
    """The last number issued of a kind (``INV``, ``ST``) in a year: taken and raised in the
    issuing transaction, so numbers have no gaps."""

    __tablename__ = "invoice_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)
