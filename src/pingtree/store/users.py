"""People who sign in to the admin UI: argon2-hashed passwords and server-side sessions.

A password check costs about 125 ms of CPU by design, so it runs in a worker thread; it is
for people signing in, never for the ping path (campaign keys are HMACs, see ``secrets``).
A session cookie carries a random token; the database keeps only its SHA-256, with the
session's CSRF token, so a stolen database row cannot be replayed as a cookie.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import secrets

import uuid_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.principals import ROLES, Principal, may_reveal_pii, valid_time_zone
from pingtree.store.tables import User, WebSession

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "SESSION_LIFETIME",
    "UserExists",
    "UserRepository",
    "binding_problem",
    "may_reveal_pii",
    "password_matches",
]

SESSION_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD = 8

_hasher = PasswordHasher()


class UserExists(ValueError):
    """A user with that name exists already."""


def binding_problem(role: str, supplier_id: str | None, buyer_id: str | None) -> str | None:
    """Why a role and its binding don't go together, or ``None``: a ``supplier`` user names
    one supplier, a ``buyer`` user one buyer, and staff neither (DESIGN's
    ``supplier:<id>``/``buyer:<id>``). Whether that party exists is the caller's check."""
    if role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    if role == "supplier" and not supplier_id:
        return "a supplier user must be bound to a supplier"
    if role == "buyer" and not buyer_id:
        return "a buyer user must be bound to a buyer"
    if role != "supplier" and supplier_id:
        return f"a {role} user is not bound to a supplier"
    if role != "buyer" and buyer_id:
        return f"a {role} user is not bound to a buyer"
    return None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        username: str,
        password: str,
        role: str,
        now: dt.datetime,
        *,
        supplier_id: str | None = None,
        buyer_id: str | None = None,
        time_zone: str = "UTC",
    ) -> User:
        problem = binding_problem(role, supplier_id, buyer_id)
        if problem:
            raise ValueError(problem)
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
        if not valid_time_zone(time_zone):
            raise ValueError(f"unknown time zone {time_zone!r}")
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        user = User(
            id=str(uuid_utils.uuid7()),
            username=username,
            password_hash=password_hash,
            role=role,
            created_at=now,
            disabled_at=None,
            supplier_id=supplier_id,
            buyer_id=buyer_id,
            time_zone=time_zone,
        )
        self._session.add(user)
        try:
            await self._session.flush()
        except IntegrityError:
            raise UserExists(f"user {username!r} exists already") from None
        return user

    async def set_password(self, username: str, password: str) -> bool:
        user = await self._by_name(username)
        if user is None:
            return False
        user.password_hash = await asyncio.to_thread(_hasher.hash, password)
        return True

    async def listing(self) -> list[User]:
        """Every user, by name."""
        return list((await self._session.execute(select(User).order_by(User.username))).scalars())

    async def by_id(self, user_id: str) -> User | None:
        return await self._session.get(User, user_id)

    async def set_role(
        self, user: User, role: str, supplier_id: str | None, buyer_id: str | None
    ) -> None:
        """A new role and binding; the user's sessions end, so no page keeps the old scope."""
        problem = binding_problem(role, supplier_id, buyer_id)
        if problem:
            raise ValueError(problem)
        user.role, user.supplier_id, user.buyer_id = role, supplier_id, buyer_id
        await self.end_sessions(user.id)

    async def set_time_zone(self, user: User, time_zone: str) -> None:
        if not valid_time_zone(time_zone):
            raise ValueError(f"unknown time zone {time_zone!r}")
        user.time_zone = time_zone

    async def set_disabled(self, user: User, disabled: bool, now: dt.datetime) -> None:
        """Disable (its sessions end at once) or enable a user."""
        user.disabled_at = now if disabled else None
        if disabled:
            await self.end_sessions(user.id)

    async def reset_password(self, user: User) -> str:
        """A new random password for ``user``, returned this once; its sessions end."""
        password = secrets.token_urlsafe(12)
        user.password_hash = await asyncio.to_thread(_hasher.hash, password)
        await self.end_sessions(user.id)
        return password

    async def end_sessions(self, user_id: str) -> None:
        await self._session.execute(delete(WebSession).where(WebSession.user_id == user_id))

    async def by_name(self, username: str) -> User | None:
        """The user of that name, enabled or not."""
        return await self._by_name(username)

    async def start_session(self, user: User, now: dt.datetime) -> str:
        """A new session for ``user``; returns the cookie token (shown this once)."""
        token = secrets.token_urlsafe(32)
        self._session.add(
            WebSession(
                token_hash=_token_hash(token),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        await self._session.flush()
        return token

    async def signed_in(self, token: str, now: dt.datetime) -> Principal | None:
        row = (
            await self._session.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == _token_hash(token))
            )
        ).first()
        if row is None:
            return None
        web_session, user = row
        if web_session.expires_at <= now or user.disabled_at is not None:
            return None
        return Principal(
            kind="user",
            id=user.id,
            name=user.username,
            role=user.role,
            supplier_id=user.supplier_id,
            buyer_id=user.buyer_id,
            time_zone=user.time_zone,
            csrf_token=web_session.csrf_token,
        )

    async def end_session(self, token: str) -> None:
        await self._session.execute(
            delete(WebSession).where(WebSession.token_hash == _token_hash(token))
        )

    async def _by_name(self, username: str) -> User | None:
        return (
            await self._session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()


async def password_matches(user: User | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s (``False`` for no user). About 125 ms in a worker
    thread either way: an unknown name costs a hash too, so timing does not tell which
    names exist. Whether the account is enabled is the caller's question."""
    stored = user.password_hash if user is not None else None
    return await asyncio.to_thread(_verify, stored, password) and user is not None


def _verify(stored: str | None, password: str) -> bool:
    # the dummy hash is made here on first use, off the event loop too
    try:
        return _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))
