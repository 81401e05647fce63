"""The record of sign-ins: what the throttle counts (``domain.throttle``) and admins read.

Deciding and recording a try must be one step for each account and each address, or
tries sent at once by many workers would all be checked before any was counted. SQLite
opens every transaction with ``BEGIN IMMEDIATE`` (``store.db``), which serializes them
anyway; on PostgreSQL :meth:`SignInRepository.serialize` takes a transaction-scoped
advisory lock per account and per address. A try is recorded as ``checking`` in that
step, before its password is checked, and counts as a failure until it is settled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import uuid_utils
from sqlalchemy import ColumnElement, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.throttle import SignInOutcome
from pingtree.store.tables import SignIn

__all__ = ["SignInRepository"]

_COUNTED = tuple(outcome.value for outcome in SignInOutcome if outcome.failed)


class SignInRepository:
    """Sign-ins in ``session``; never commits (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def serialize(self, username: str, address: str) -> None:
        """Hold, until the transaction ends, the right to decide about ``username`` and
        ``address``: a no-op on SQLite, whose transactions are serial already."""
        if self._session.get_bind().dialect.name != "postgresql":
            return
        # always in the same order, so two tries never wait on each other's second lock
        for key in sorted({_lock_key("user", username), _lock_key("address", address)}):
            await self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def account_failures(
        self, username: str, since: dt.datetime, limit: int
    ) -> list[dt.datetime]:
        """When ``username``'s failures after its last success and after ``since``
        happened, newest first, at most ``limit``."""
        last_success = (
            select(func.coalesce(func.max(SignIn.id), ""))
            .where(
                SignIn.username == username,
                SignIn.outcome == SignInOutcome.SUCCESS.value,
                SignIn.at > since,
            )
            .scalar_subquery()
        )
        return await self._failures(
            (SignIn.username == username, SignIn.id > last_success), since, limit
        )

    async def address_failures(
        self, address: str, since: dt.datetime, limit: int
    ) -> list[dt.datetime]:
        """When the failures from ``address`` after ``since`` happened, newest first, at
        most ``limit``."""
        return await self._failures((SignIn.address == address,), since, limit)

    async def record(
        self,
        username: str,
        user_id: str | None,
        address: str,
        outcome: SignInOutcome,
        now: dt.datetime,
    ) -> str:
        """Add a try; returns its id."""
        sign_in_id = str(uuid_utils.uuid7())
        self._session.add(
            SignIn(
                id=sign_in_id,
                username=username,
                user_id=user_id,
                address=address,
                outcome=outcome.value,
                at=now,
            )
        )
        await self._session.flush()
        return sign_in_id

    async def settle(self, sign_in_id: str, outcome: SignInOutcome) -> None:
        """How a try recorded as ``checking`` ended."""
        await self._session.execute(
            update(SignIn)
            .where(SignIn.id == sign_in_id, SignIn.outcome == SignInOutcome.CHECKING.value)
            .values(outcome=outcome.value)
        )

    async def forget_before(self, cutoff: dt.datetime) -> int:
        """Drop the tries made before ``cutoff``; how many went."""
        gone = await self._session.execute(delete(SignIn).where(SignIn.at < cutoff))
        return int(getattr(gone, "rowcount", 0) or 0)

    async def recent(
        self,
        limit: int,
        *,
        username: str | None = None,
        address: str | None = None,
        outcome: str | None = None,
        before: str | None = None,
    ) -> Sequence[SignIn]:
        """Sign-ins, newest first; ``before`` is the last id of the previous page."""
        query = select(SignIn).order_by(SignIn.id.desc()).limit(limit)
        if username is not None:
            query = query.where(SignIn.username == username)
        if address is not None:
            query = query.where(SignIn.address == address)
        if outcome is not None:
            query = query.where(SignIn.outcome == outcome)
        if before:
            query = query.where(SignIn.id < before)
        return (await self._session.scalars(query)).all()

    async def _failures(
        self, which: Sequence[ColumnElement[bool]], since: dt.datetime, limit: int
    ) -> list[dt.datetime]:
        query = (
            select(SignIn.at)
            .where(*which, SignIn.outcome.in_(_COUNTED), SignIn.at > since)
            .order_by(SignIn.at.desc(), SignIn.id.desc())
            .limit(limit)
        )
        return list((await self._session.scalars(query)).all())


def _lock_key(kind: str, value: str) -> int:
    """A signed 64-bit advisory lock key for an account or an address."""
    digest = hashlib.sha256(f"pingtree/sign-in/{kind}\0{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
