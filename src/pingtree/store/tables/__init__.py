"""The database schema, one for SQLite and PostgreSQL.

Money is integer cents. Timestamps are UTC (stored naive on SQLite, which has no time
zones: read them back with :func:`utc`). Ids are time-ordered UUIDv7 strings, except the
configuration's own slugs.

Every table is declared on :class:`Base`'s one metadata, in the module of its idea:
``config`` (the configuration and its keys), ``traffic`` (pings, leads, sales, what guards
them, the delivery log), ``outboxes`` (what is sent after the answer), ``money`` (the
ledger, returns, dispositions, invoices) and ``parties`` (people, their audit trails, the
CRM). Importing this package imports them all, so the metadata Alembic compares is whole.
"""

from __future__ import annotations

from pingtree.store.tables.base import Base, UtcDateTime
from pingtree.store.tables.config import (
    ApiKey,
    BuyerSecret,
    ConfigEntity,
    ConfigHistory,
    ConfigState,
)
from pingtree.store.tables.money import (
    Disposition,
    Invoice,
    InvoiceCounter,
    InvoiceEntry,
    LedgerEntry,
    Return,
)
from pingtree.store.tables.outboxes import ChainStepRow, Delivery, Postback
from pingtree.store.tables.parties import (
    Erasure,
    PartyContact,
    PartyNote,
    PiiReveal,
    SignIn,
    User,
    WebSession,
)
from pingtree.store.tables.traffic import (
    AttemptRow,
    CapHold,
    CapUsage,
    DedupKey,
    Lead,
    Ping,
    Sale,
    SetAside,
    SuppressionKey,
)

__all__ = [
    "ApiKey",
    "AttemptRow",
    "Base",
    "BuyerSecret",
    "CapHold",
    "CapUsage",
    "ChainStepRow",
    "ConfigEntity",
    "ConfigHistory",
    "ConfigState",
    "DedupKey",
    "Delivery",
    "Disposition",
    "Erasure",
    "Invoice",
    "InvoiceCounter",
    "InvoiceEntry",
    "Lead",
    "LedgerEntry",
    "PartyContact",
    "PartyNote",
    "PiiReveal",
    "Ping",
    "Postback",
    "Return",
    "Sale",
    "SetAside",
    "SignIn",
    "SuppressionKey",
    "User",
    "UtcDateTime",
    "WebSession",
]
