"""Buyer credentials, the values behind ``{secret: NAME}`` in delivery specs (DESIGN §8.5).

Stored encrypted (AES-GCM under a key derived from the server key), never exported or shown
back: an operator can set a secret and list the names, not read a value. Requests to buyers
resolve names from an in-memory copy refreshed about once a second.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.periodic import Periodic
from pingtree.store.secrets import PiiVault
from pingtree.store.tables import BuyerSecret

__all__ = ["SECRET_NAME", "BuyerSecretRepository", "BuyerSecrets"]

#: how a secret may be named (it also forms an environment variable name)
SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV_PREFIX = "PINGTREE_SECRET_"
_NOT_ALPHANUMERIC = re.compile(r"[^A-Z0-9]")


class BuyerSecretRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def set(self, name: str, value: str, vault: PiiVault, now: dt.datetime) -> None:
        """Store (or replace) a secret. ``ValueError`` for a name outside :data:`SECRET_NAME`
        or an empty value."""
        if not SECRET_NAME.match(name):
            raise ValueError("a secret name is letters, digits, '_', '.' or '-' (64 at most)")
        if not value:
            raise ValueError("a secret cannot be empty")
        row = await self._session.get(BuyerSecret, name)
        if row is None:
            self._session.add(
                BuyerSecret(name=name, ciphertext=vault.encrypt(value), updated_at=now)
            )
        else:
            row.ciphertext, row.updated_at = vault.encrypt(value), now

    async def listing(self) -> Sequence[tuple[str, dt.datetime]]:
        """Every secret's name and when it was set; never a value."""
        rows = await self._session.execute(
            select(BuyerSecret.name, BuyerSecret.updated_at).order_by(BuyerSecret.name)
        )
        return [(name, updated) for name, updated in rows]

    async def load(self, vault: PiiVault) -> dict[str, str]:
        rows = await self._session.execute(select(BuyerSecret.name, BuyerSecret.ciphertext))
        return {name: vault.decrypt(ciphertext) for name, ciphertext in rows}


class BuyerSecrets:
    """The resolver the delivery code calls: stored secrets, then the environment."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], vault: PiiVault, refresh_seconds: float
    ) -> None:
        self._sessions = sessions
        self._vault = vault
        self._values: Mapping[str, str] = {}
        self._refresher = Periodic(
            "buyer-secrets", refresh_seconds, self.refresh, "buyer secrets refresh failed"
        )

    def resolve(self, name: str) -> str:
        """The secret's value. ``KeyError`` (with a message naming it) when it is neither
        stored nor in ``PINGTREE_SECRET_<NAME>``; a request needing it is not sent."""
        if name in self._values:
            return self._values[name]
        return env_secret(name)

    async def refresh(self) -> None:
        async with self._sessions() as session:
            self._values = await BuyerSecretRepository(session).load(self._vault)

    async def start(self) -> None:
        await self.refresh()
        self._refresher.start()

    async def stop(self) -> None:
        await self._refresher.stop()


def env_secret(name: str) -> str:
    """A secret from ``PINGTREE_SECRET_<NAME>`` (upper-cased, other characters than A-Z and
    0-9 as ``_``): for deployments that inject credentials by environment. ``KeyError`` when
    unset, and for ``key``: ``PINGTREE_SECRET_KEY`` is the server's own key, never sent."""
    variable = _ENV_PREFIX + _NOT_ALPHANUMERIC.sub("_", name.upper())
    if variable == "PINGTREE_SECRET_KEY":
        raise KeyError(f"secret {name} is reserved: {variable} is the server's key")
    value = os.environ.get(variable)
    if value is None:
        raise KeyError(f"secret {name} is not set (pingtree secret set {name}, or {variable})")
    return value
