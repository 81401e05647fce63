"""A lead's journey: its ping, the lead, its sales; the cap usage and holds, dedup and
suppression keys that guard it; the delivery log of each exchange with a buyer; and the
rows a background writer could not store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingtree.store.tables.base import Base

__all__ = [
    "AttemptRow",
    "CapHold",
    "CapUsage",
    "DedupKey",
    "Lead",
    "Ping",
    "Sale",
    "SetAside",
    "SuppressionKey",
]

#: a surrogate key for high-churn rows (a hold per won ping): BIGINT on PostgreSQL, where a
#: 32-bit sequence runs out in weeks at thousands a second; SQLite's rowid is 64-bit already,
#: and only a column declared exactly INTEGER becomes it
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Ping(Base):
    __tablename__ = "pings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), index=True)
    supplier_id: Mapped[str] = mapped_column(String(64))
    vertical_id: Mapped[str] = mapped_column(String(64))
    test: Mapped[bool] = mapped_column(Boolean)
    #: ``accepted`` or ``rejected``
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]]
    #: the normalized ping fields (never PII)
    fields: Mapped[dict[str, Any]]
    #: what the seller is told it will be paid (the payout), and what buyers would pay
    bid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the answer given to the seller, replayed to a duplicate ping
    answer: Mapped[dict[str, Any]]
    #: the auction: every candidate order with its outcome, and the ranking with winners
    auction: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    #: set atomically by the first post that claims this ping
    claimed_at: Mapped[dt.datetime | None]
    post_digest: Mapped[str | None] = mapped_column(String(64))
    lead_id: Mapped[str | None] = mapped_column(String(36))
    #: the auction as a replay reads it (issue 17): its JSON text without the walk's copy
    #: of the fields and the tokens (``store.replay_pings.replay_line``); NULL on pings
    #: stored before it, which a replay reads from ``auction``
    replay_line: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_pings_campaign_idem", "campaign_id", "idempotency_key"),
        #: a replay reads a period's pings oldest first, in pages (issue 17)
        Index("ix_pings_created_at_id", "created_at", "id"),
    )


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), index=True)
    supplier_id: Mapped[str] = mapped_column(String(64))
    vertical_id: Mapped[str] = mapped_column(String(64))
    ping_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    test: Mapped[bool] = mapped_column(Boolean)
    #: ``received`` → ``sold`` / ``unsold`` / ``rejected``, through ``pending`` while its
    #: sales are posted to buyers; later ``returned``
    status: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[list[Any]]
    #: normalized fields; PII values encrypted (see store.pii)
    fields: Mapped[dict[str, Any]]
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the lead's answer as it stands (``GET /api/v1/leads/{id}``): final once settled
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the answer the seller's post got, which a repeat of the same post gets again
    first_answer: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    auction: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    updated_at: Mapped[dt.datetime]
    #: when the consumer's PII was erased (``flows.erase``): the PII fields are gone, the
    #: money and the ids stay
    erased_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index("ux_leads_campaign_idem", "campaign_id", "idempotency_key", unique=True),
    )


class Sale(Base):
    __tablename__ = "sales"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    buyer_id: Mapped[str] = mapped_column(String(64), index=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[str] = mapped_column(String(64))
    vertical_id: Mapped[str] = mapped_column(String(64))
    leg: Mapped[str] = mapped_column(String(16))
    test: Mapped[bool] = mapped_column(Boolean)
    #: ``sold`` (final: no post step, or the buyer accepted), ``pending`` (being delivered to
    #: the buyer's post endpoint), ``rejected`` (the buyer refused: reversed, caps refunded),
    #: ``unknown`` (sent, no clear answer: the slot is kept for an operator, §8.6)
    status: Mapped[str] = mapped_column(String(16), default="sold", server_default="sold")
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    returned_at: Mapped[dt.datetime | None]
    return_reason: Mapped[str | None] = mapped_column(Text)


# --- caps, dedup and suppression ---------------------------------------------------------


class CapUsage(Base):
    """Committed usage of one cap window: ``scope`` is ``order:<id>`` or ``buyer:<id>``."""

    __tablename__ = "cap_usage"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger, default=0)


class CapHold(Base):
    """A self-expiring reservation from a won ping: it counts only while unexpired."""

    __tablename__ = "cap_holds"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    ping_id: Mapped[str] = mapped_column(String(36), index=True)
    scope: Mapped[str] = mapped_column(String(80))
    window_key: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_cap_holds_scope_window", "scope", "window_key", "expires_at"),)


class DedupKey(Base):
    """An HMAC of a sold lead's normalized phone or email, per buyer (``*`` for inbound)."""

    __tablename__ = "dedup_keys"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    buyer_id: Mapped[str] = mapped_column(String(64))
    key_hmac: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        Index("ix_dedup_keys_lookup", "buyer_id", "key_hmac", "created_at"),
        #: every buyer that bought this consumer (DedupRepository.last_sold)
        Index("ix_dedup_keys_key_hmac", "key_hmac", "buyer_id", "created_at"),
    )


class SuppressionKey(Base):
    """A phone or email on a suppression list (DNC, litigators, customers…), as the
    server's HMAC of its normalized form (``PiiVault.index``, like dedup keys): never in
    clear. A lead whose phone or email is on a list its campaign checks is rejected or
    flagged (``flows.quality``)."""

    __tablename__ = "suppression_keys"

    list_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_suppression_keys_key_hmac", "key_hmac"),)


# --- delivery log ------------------------------------------------------------------------


class AttemptRow(Base):
    """One outbound HTTP exchange with a buyer (``pingtree.delivery.attempts.Attempt``)."""

    __tablename__ = "attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    order_id: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[str] = mapped_column(String(64))
    ping_id: Mapped[str | None] = mapped_column(String(36), index=True)
    lead_id: Mapped[str | None] = mapped_column(String(36), index=True)
    started_at: Mapped[dt.datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    request_headers: Mapped[dict[str, Any]]
    request_body: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[dict[str, Any]]
    response_body: Mapped[str] = mapped_column(Text)
    parsed: Mapped[dict[str, Any]]
    error: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_attempts_order_started", "order_id", "started_at"),)


# --- rows a writer could not store -------------------------------------------------------


class SetAside(Base):
    """A row a background writer could not store, kept with its error for an operator
    (DESIGN §9): it never blocks the rows behind it. Ping rows hold no PII; attempt rows
    hold masked bodies."""

    __tablename__ = "set_aside"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: which writer refused it: ``ping-writer`` or ``attempt-log``
    writer: Mapped[str] = mapped_column(String(32))
    #: the row's own id (a ping id, an attempt id)
    row_key: Mapped[str] = mapped_column(String(64))
    #: the row's values, made printable (what JSON cannot hold becomes its text)
    row: Mapped[dict[str, Any]]
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
