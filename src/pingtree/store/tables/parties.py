"""People and parties: who signs in to the admin UI and how each try ended, what they saw
of consumers' PII and what they erased, and staff's notes and contacts on buyers and
suppliers (the CRM).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingtree.store.tables.base import Base

__all__ = ["Erasure", "PartyContact", "PartyNote", "PiiReveal", "SignIn", "User", "WebSession"]


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


# --- privacy audit trails ----------------------------------------------------------------


class PiiReveal(Base):
    """The audit trail of revealed personal data: who saw which lead's PII, and when
    (§8.5). Ids only, never the values."""

    __tablename__ = "pii_reveals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    #: ``user:<id>`` for a person in the UI, ``key:<id>`` for an admin API token
    viewer: Mapped[str] = mapped_column(String(80))
    revealed_at: Mapped[dt.datetime] = mapped_column(index=True)


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


# --- notes and contacts on buyers and suppliers (the CRM) --------------------------------


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
