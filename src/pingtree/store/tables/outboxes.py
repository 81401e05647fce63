"""What is sent after the answer: a row per thing owed (a sale's post, a chain's step, a
campaign's postback), written in the event's transaction and taken by a worker under a
lease, so a crash or a restart loses nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingtree.store.tables.base import Base

__all__ = ["ChainStepRow", "Delivery", "Postback"]


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
