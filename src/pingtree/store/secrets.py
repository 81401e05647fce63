"""The server key, API keys and PII at rest (DESIGN §8.5).

One 32-byte **server key** (``PINGTREE_SECRET_KEY``, else ``<data dir>/secret.key``,
generated on first use) is the root of every secret; each use gets its own subkey
(HKDF-SHA-256 with a distinct label), so an API-key HMAC, a PII index and a PII ciphertext
never share a key.

**API keys** are ``pt_<id>_<secret>``: the id finds the row (one primary-key lookup), the
secret is checked as an HMAC-SHA-256 in constant time. A password hash would cost the ping
more than its whole budget; the secrets are 256 random bits, so a fast HMAC is enough.

**PII** is encrypted field by field with AES-GCM (``enc:v1:<urlsafe base64 of nonce +
ciphertext>``) and indexed by an HMAC of the normalized value, for search and dedup.

Errors::

    ValueError
     ├── SecretKeyError   PINGTREE_SECRET_KEY or secret.key is unusable
     └── PiiError         a PII token is malformed, forged or from another server key
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import ApiKey

__all__ = [
    "ApiKeyRepository",
    "PiiError",
    "PiiVault",
    "SecretKeyError",
    "key_hmac",
    "load_server_key",
    "new_api_key",
    "parse_token",
]

_KEY_BYTES = 32
_KEY_FILE = "secret.key"
_TOKEN = re.compile(r"pt_([0-9a-f]{16})_([A-Za-z0-9_-]{20,128})")
_PII_PREFIX = "enc:v1:"
_NONCE_BYTES = 12
#: compared against when a key id is unknown, so that both paths take the same time
_NO_HMAC = "0" * 64


class SecretKeyError(ValueError):
    """The server key is unusable: too short, or ``secret.key`` is damaged."""


class PiiError(ValueError):
    """A PII token is malformed, tampered with, or was sealed under another server key."""


# --- the server key ------------------------------------------------------------------------


def load_server_key(env_value: str | None, data_dir: Path) -> bytes:
    """The 32-byte server key.

    From ``env_value`` (``PINGTREE_SECRET_KEY``) when set: the urlsafe base64 of 32 bytes,
    or any text of at least 32 characters (hashed with SHA-256 to 32 bytes). Else from
    ``<data_dir>/secret.key``, created (with ``data_dir``) on first use with a random key,
    mode 0600; workers starting together agree on one key.

    Raises :class:`SecretKeyError` for a shorter ``env_value`` or a damaged key file.
    Losing the key makes stored PII and API keys unreadable: back it up.
    """
    if env_value is not None and env_value.strip():
        return _key_from_text(env_value.strip())
    path = data_dir / _KEY_FILE
    if not path.exists():
        _create_key_file(path)
    text = path.read_text(encoding="ascii").strip()
    key = _b64decode(text)
    if key is None or len(key) != _KEY_BYTES:
        raise SecretKeyError(f"{path} does not hold the urlsafe base64 of 32 bytes")
    return key


def _key_from_text(text: str) -> bytes:
    decoded = _b64decode(text)
    if decoded is not None and len(decoded) == _KEY_BYTES:
        return decoded
    if len(text) >= _KEY_BYTES:
        return hashlib.sha256(text.encode()).digest()
    raise SecretKeyError(
        "PINGTREE_SECRET_KEY must be the urlsafe base64 of 32 bytes or at least 32 characters"
    )


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).decode() + "\n"
    # written in full under a private name, then linked into place: a worker never reads a
    # half-written key, and of two workers racing, the first link wins and both use it
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


@lru_cache(maxsize=64)
def _subkey(server_key: bytes, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=purpose)
    return hkdf.derive(server_key)


# --- API keys ------------------------------------------------------------------------------


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: ``(key id, secret, token)``, the token ``pt_<id>_<secret>``.

    The id is 16 hex digits, the secret 43 urlsafe characters (256 random bits).
    """
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"pt_{key_id}_{secret}"


def key_hmac(server_key: bytes, secret: str) -> str:
    """What is stored of an API key's secret: HMAC-SHA-256 (hex) under the API-key subkey.

    Compare two with ``hmac.compare_digest``.
    """
    key = _subkey(server_key, b"pingtree/api-key/v1")
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a ``pt_<id>_<secret>`` token; ``None`` if malformed."""
    match = _TOKEN.fullmatch(token.strip())
    return (match[1], match[2]) if match else None


class ApiKeyRepository:
    """API keys in ``session``; never commits (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        role: str,
        campaign_id: str | None,
        label: str,
        server_key: bytes,
        now: dt.datetime,
    ) -> str:
        """Add a key for ``role`` (``campaign`` with its ``campaign_id``, ``admin``…) and
        return its token: the only time the secret exists in clear."""
        return (await self.issue(role, campaign_id, label, server_key, now))[1]

    async def issue(
        self,
        role: str,
        campaign_id: str | None,
        label: str,
        server_key: bytes,
        now: dt.datetime,
        *,
        buyer_id: str | None = None,
        supplier_id: str | None = None,
    ) -> tuple[ApiKey, str]:
        """As :meth:`create`: ``(the new row, its token)``. A ``buyer`` key names its
        ``buyer_id``, a ``supplier`` key its ``supplier_id``."""
        key_id, secret, token = new_api_key()
        row = ApiKey(
            id=key_id,
            secret_hmac=key_hmac(server_key, secret),
            role=role,
            campaign_id=campaign_id,
            buyer_id=buyer_id,
            supplier_id=supplier_id,
            label=label,
            created_at=now,
            revoked_at=None,
        )
        self._session.add(row)
        await self._session.flush()
        return row, token

    async def verify(self, token: str, server_key: bytes, now: dt.datetime) -> ApiKey | None:
        """The key ``token`` stands for; ``None`` if malformed, unknown, wrong or revoked
        (at or before ``now``). One primary-key lookup; a constant-time comparison."""
        parsed = parse_token(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        row = await self._session.get(ApiKey, key_id)
        expected = row.secret_hmac if row is not None else _NO_HMAC
        matches = hmac.compare_digest(expected, key_hmac(server_key, secret))
        if row is None or not matches:
            return None
        if row.revoked_at is not None and row.revoked_at <= now:
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        return row

    async def get(self, key_id: str) -> ApiKey | None:
        return await self._session.get(ApiKey, key_id)

    async def note_use(self, key_id: str, now: dt.datetime, every: dt.timedelta) -> None:
        """Record that key ``key_id`` was used at ``now``, unless it was recorded less than
        ``every`` ago: one conditional UPDATE, at most one write per key per ``every``."""
        await self._session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - every),
            )
            .values(last_used_at=now)
        )

    async def rotate(
        self, key_id: str, server_key: bytes, now: dt.datetime, overlap: dt.timedelta
    ) -> tuple[ApiKey, str] | None:
        """A new key for the same campaign, role and name as ``key_id``, whose old key keeps
        working until ``now + overlap`` (or its earlier expiry), then stops. ``(the new
        row, its token)``; ``None`` if there is no such key or it no longer works."""
        old = await self._session.get(ApiKey, key_id)
        if old is None or not _working(old, now):
            return None
        new = await self.issue(
            old.role,
            old.campaign_id,
            old.label,
            server_key,
            now,
            buyer_id=old.buyer_id,
            supplier_id=old.supplier_id,
        )
        until = now + overlap
        if old.expires_at is None or old.expires_at > until:
            old.expires_at = until
        await self._session.flush()
        return new

    async def revoke(self, key_id: str, now: dt.datetime) -> bool:
        """Revoke key ``key_id`` from ``now``; ``False`` if there is no such key. Revoking a
        revoked key keeps its first revocation time (and returns ``True``)."""
        row = await self._session.get(ApiKey, key_id)
        if row is None:
            return False
        if row.revoked_at is None:
            row.revoked_at = now
            await self._session.flush()
        return True

    @staticmethod
    def working(row: ApiKey, now: dt.datetime) -> bool:
        """Whether ``row`` opens the API at ``now``: neither revoked nor expired."""
        return _working(row, now)

    async def list(self, campaign_id: str | None = None) -> Sequence[ApiKey]:
        """Every key (revoked ones too), oldest first; only ``campaign_id``'s when given."""
        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if campaign_id is not None:
            query = query.where(ApiKey.campaign_id == campaign_id)
        return (await self._session.scalars(query)).all()

    async def party_keys(self, role: str, party_id: str | None = None) -> Sequence[ApiKey]:
        """The ``buyer`` or ``supplier`` keys (revoked ones too), oldest first; only
        ``party_id``'s when given."""
        query = select(ApiKey).where(ApiKey.role == role).order_by(ApiKey.created_at, ApiKey.id)
        if party_id is not None:
            column = ApiKey.buyer_id if role == "buyer" else ApiKey.supplier_id
            query = query.where(column == party_id)
        return (await self._session.scalars(query)).all()


def _working(row: ApiKey, now: dt.datetime) -> bool:
    revoked = row.revoked_at is not None and row.revoked_at <= now
    return not revoked and (row.expires_at is None or row.expires_at > now)


# --- PII -----------------------------------------------------------------------------------


class PiiVault:
    """Encrypts PII values for storage and indexes them for dedup and search.

    Thread-safe and cheap to share: build one per process from the server key.
    """

    def __init__(self, server_key: bytes) -> None:
        if len(server_key) != _KEY_BYTES:
            raise SecretKeyError("the server key must be 32 bytes")
        self._aead = AESGCM(_subkey(server_key, b"pingtree/pii-encryption/v1"))
        self._index_key = _subkey(server_key, b"pingtree/pii-index/v1")

    def encrypt(self, text: str) -> str:
        """``"enc:v1:" + urlsafe-b64(nonce + ciphertext)``: AES-256-GCM, a random 96-bit
        nonce each call (two encryptions of one value differ)."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, text.encode(), _PII_PREFIX.encode())
        return _PII_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        """The text :meth:`encrypt` sealed into ``token``.

        Raises :class:`PiiError` if ``token`` is not ``enc:v1:…``, is truncated or altered,
        or was sealed under another server key.
        """
        if not token.startswith(_PII_PREFIX):
            raise PiiError("not an encrypted PII value")
        raw = _b64decode(token[len(_PII_PREFIX) :])
        if raw is None or len(raw) < _NONCE_BYTES + 16:
            raise PiiError("malformed encrypted PII value")
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _PII_PREFIX.encode())
        except InvalidTag:
            raise PiiError("encrypted PII value altered or sealed under another key") from None
        return plain.decode()

    def index(self, value: str) -> str:
        """HMAC-SHA-256 (hex) of ``value`` normalized: Unicode NFKC, trimmed, case-folded.

        Stable for one server key: equal values (after the field's own normalizer, e.g. a
        phone's 10 digits, and this one) give equal indexes; other keys give others.
        """
        normalized = unicodedata.normalize("NFKC", value).strip().casefold()
        return hmac.new(self._index_key, normalized.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def is_encrypted(value: str) -> bool:
        """Whether ``value`` looks like :meth:`encrypt`'s output."""
        return value.startswith(_PII_PREFIX)
