"""The database schema, one for SQLite and PostgreSQL.

Money is integer cents. Timestamps are UTC (stored naive on SQLite, which has no time
zones: read them back with :func:`utc`). Ids are time-ordered UUIDv7 strings, except the
configuration's own slugs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
    "User",
    "UtcDateTime",
    "WebSession",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on both engines (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)  # the driver's contract, not input
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


#: a surrogate key for high-churn rows (a hold per won ping): BIGINT on PostgreSQL, where a
#: 32-bit sequence runs out in weeks at thousands a second; SQLite's rowid is 64-bit already,
#: and only a column declared exactly INTEGER becomes it
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


# --- configuration -------------------------------------------------------------------------


class ConfigEntity(Base):
    """One configured entity (vertical, supplier, campaign, buyer, order) as its YAML spec."""

    __tablename__ = "config_entities"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the supplier of a campaign, the buyer of an order
    parent_id: Mapped[str | None] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]]
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime]


class ConfigHistory(Base):
    """An entity as it stood from ``version`` on (until a later row of it): every write
    adds one, so the configuration of any version since this table began can be read back
    (a trace's "why not" is rebuilt from the version its ping ran on). Kept as long as
    traces are: never pruned."""

    __tablename__ = "config_history"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]]
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class ConfigState(Base):
    """A single row: the version every configuration write bumps in its transaction."""

    __tablename__ = "config_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime]


class ApiKey(Base):
    """A campaign key, a party's key (a buyer's or a supplier's own) or an admin token:
    ``pt_<id>_<secret>``, the secret kept as an HMAC."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hmac: Mapped[str] = mapped_column(String(64))
    #: ``campaign``, ``buyer``, ``supplier`` or ``admin``
    role: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    #: the one buyer a ``buyer`` key acts as, the one supplier a ``supplier`` key acts as
    buyer_id: Mapped[str | None] = mapped_column(String(64))
    supplier_id: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    #: when the key was last seen working, to the minute (written at most once a minute)
    last_used_at: Mapped[dt.datetime | None]
    #: a rotated key keeps working until then (the overlap the operator picked)
    expires_at: Mapped[dt.datetime | None]


# --- traffic -------------------------------------------------------------------------------


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


# --- caps and dedup ------------------------------------------------------------------------


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


# --- delivery log ----------------------------------------------------------------------------


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


class BuyerSecret(Base):
    """A buyer credential that delivery specs name as ``{secret: NAME}``: encrypted (§8.5)."""

    __tablename__ = "buyer_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]


# --- outbox ----------------------------------------------------------------------------------


class Delivery(Base):
    """The outbox: a sale to post to its buyer, written in the lead's transaction (§8.6).

    Dispatched at once in-process; a worker takes only rows whose lease expired, so a crash
    or a restart between the answer and the delivery loses nothing.
    """

    __tablename__ = "deliveries"

    sale_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[str] = mapped_column(String(64))
    #: ``queued`` → ``sending`` → ``delivered`` / ``rejected`` / ``unknown`` / ``failed``
    status: Mapped[str] = mapped_column(String(16))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    #: when the row may next be taken: now for a new row, later for a retry's backoff
    due_at: Mapped[dt.datetime]
    #: who holds the row until when; an expired lease means its worker died
    lease_until: Mapped[dt.datetime | None]
    #: the buyer's token from its ping answer, sent back in the post
    token: Mapped[str | None] = mapped_column(Text)
    redirect_url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_deliveries_status_due", "status", "due_at"),)


class ChainStepRow(Base):
    """A step of a sold lead's delivery chain (``delivery.chain``), written with the post's
    verdict ``sold``: the first ``queued``, the others ``waiting`` for the one before."""

    __tablename__ = "chain_steps"

    sale_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(32))
    #: ``waiting`` → ``queued`` → ``sending`` → ``delivered`` / ``rejected`` / ``failed`` /
    #: ``unknown``; ``skipped`` when a success before it ended the chain
    status: Mapped[str] = mapped_column(String(16))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    token: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_chain_steps_status_due", "status", "due_at"),)


# --- people ----------------------------------------------------------------------------------


class User(Base):
    """A person who signs in to the admin UI; the password kept as an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    #: ``admin``, ``operator``, ``analyst`` (no PII), ``supplier`` or ``buyer``
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    disabled_at: Mapped[dt.datetime | None]
    #: the one supplier a ``supplier`` user sees, the one buyer a ``buyer`` user sees
    supplier_id: Mapped[str | None] = mapped_column(String(64))
    buyer_id: Mapped[str | None] = mapped_column(String(64))
    #: an IANA name: the user's days in reports
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class WebSession(Base):
    """A signed-in browser: the cookie's token is kept only as its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class PiiReveal(Base):
    """The audit trail of revealed personal data: who saw which lead's PII, and when
    (§8.5). Ids only, never the values."""

    __tablename__ = "pii_reveals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    #: ``user:<id>`` for a person in the UI, ``key:<id>`` for an admin API token
    viewer: Mapped[str] = mapped_column(String(80))
    revealed_at: Mapped[dt.datetime] = mapped_column(index=True)


# --- rows a writer could not store -----------------------------------------------------------


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


# --- sign-ins ---------------------------------------------------------------------------------


class SignIn(Base):
    """One try to sign in to the admin UI and how it ended (``domain.throttle``): the
    throttle counts these, admins read them. Never the password."""

    __tablename__ = "sign_ins"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: as typed (the form allows 100 characters), whether or not such a user exists
    username: Mapped[str] = mapped_column(String(100))
    #: the user of that name when there is one
    user_id: Mapped[str | None] = mapped_column(String(36))
    #: the client's address as the server saw it ("" when it has none)
    address: Mapped[str] = mapped_column(String(45))
    #: a ``SignInOutcome``: success, wrong_password, unknown_user, disabled, throttled,
    #: locked, or checking while the password is checked
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]

    __table_args__ = (
        Index("ix_sign_ins_username_at", "username", "at"),
        Index("ix_sign_ins_address_at", "address", "at"),
    )


# --- erasures ----------------------------------------------------------------------------------


class Erasure(Base):
    """The audit trail of erased consumers (DESIGN §8.5): who asked, when, for what, and how
    many leads lost their PII. What was asked is kept as the HMAC index of the email or
    phone (never the value), a lead id, or a retention cutoff."""

    __tablename__ = "erasures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ``user:<id>``, ``key:<id>`` (an admin API token), ``cli`` or ``retention``
    principal: Mapped[str] = mapped_column(String(80))
    #: ``email``, ``phone``, ``lead`` or ``retention``
    kind: Mapped[str] = mapped_column(String(16))
    #: the HMAC index of the email or phone, the lead id, or "" for retention
    subject: Mapped[str] = mapped_column(String(80))
    #: retention: every lead created before this has been erased (the next run starts here)
    older_than: Mapped[dt.datetime | None]
    leads: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


# --- money after the sale ------------------------------------------------------------------------


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


# --- notes and contacts on buyers and suppliers (the CRM) ---------------------------------------


class PartyNote(Base):
    """A staff note on a buyer or a supplier: immutable, listed newest first. Staff only,
    never shown to the party it is about."""

    __tablename__ = "party_notes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ``buyer:<id>`` or ``supplier:<id>``
    party: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    #: who wrote it: ``user:<id>`` or ``key:<id>``, and their name then
    author: Mapped[str] = mapped_column(String(80))
    author_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_party_notes_party_created", "party", "created_at"),)


class PartyContact(Base):
    """A person to talk to at a buyer or a supplier (a business contact, not a consumer):
    editable and removable by staff, never shown to the party's own users."""

    __tablename__ = "party_contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ``buyer:<id>`` or ``supplier:<id>``
    party: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: a role or title (``Head of acquisition``)
    role: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


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


# --- conversion postbacks ----------------------------------------------------------------------


class Postback(Base):
    """A campaign's conversion postback of one lead's event (``flows.postback``): written in
    the event's transaction, sent at once in-process, retried by a worker that takes rows
    whose lease ran out, like the deliveries' outbox. One per lead and event."""

    __tablename__ = "postbacks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36))
    campaign_id: Mapped[str] = mapped_column(String(64))
    #: ``sold``, ``rejected`` or ``returned``
    event: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(8))
    #: the template rendered: tracking macros only, never PII
    url: Mapped[str] = mapped_column(Text)
    #: a ``POST``'s JSON (the lead's answer), "" for a ``GET``
    body: Mapped[str] = mapped_column(Text, default="")
    #: ``queued`` → ``sending`` → ``sent`` / ``failed`` (refused, or given up)
    status: Mapped[str] = mapped_column(String(16))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    #: each try: ``at``, ``status`` (HTTP, or null), ``duration_ms``, ``error``
    attempts: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (
        Index("ux_postbacks_lead_event", "lead_id", "event", unique=True),
        Index("ix_postbacks_status_due", "status", "due_at"),
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
