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
from dataclasses import dataclass

import uuid_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import User, WebSession

__all__ = [
    "ROLES",
    "SESSION_LIFETIME",
    "SignedIn",
    "UserExists",
    "UserRepository",
    "may_reveal_pii",
    "password_matches",
]

#: ``analyst`` sees figures but never PII; ``operator`` runs the marketplace; ``admin`` all
ROLES = ("admin", "operator", "analyst")
#: the roles that may reveal a lead's PII (DESIGN §8.5)
_PII_ROLES = frozenset({"admin", "operator"})
SESSION_LIFETIME = dt.timedelta(hours=12)

_hasher = PasswordHasher()


class UserExists(ValueError):
    """A user with that name exists already."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The person behind a session cookie."""

    user_id: str
    username: str
    role: str
    csrf_token: str


def may_reveal_pii(role: str) -> bool:
    return role in _PII_ROLES


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, username: str, password: str, role: str, now: dt.datetime) -> User:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        user = User(
            id=str(uuid_utils.uuid7()),
            username=username,
            password_hash=password_hash,
            role=role,
            created_at=now,
            disabled_at=None,
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

    async def signed_in(self, token: str, now: dt.datetime) -> SignedIn | None:
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
        return SignedIn(user.id, user.username, user.role, web_session.csrf_token)

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
