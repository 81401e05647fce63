"""The configuration's rows: each entity as its YAML spec, its history by version, the
version counter, the API keys that let sellers, parties and admins in, and the buyers'
encrypted credentials.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingtree.store.tables.base import Base

__all__ = ["ApiKey", "BuyerSecret", "ConfigEntity", "ConfigHistory", "ConfigState"]


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


class BuyerSecret(Base):
    """A buyer credential that delivery specs name as ``{secret: NAME}``: encrypted (§8.5)."""

    __tablename__ = "buyer_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]
