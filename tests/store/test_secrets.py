"""The server key, API keys and PII at rest."""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.secrets import (
    ApiKeyRepository,
    PiiError,
    PiiVault,
    SecretKeyError,
    key_hmac,
    load_server_key,
    new_api_key,
    parse_token,
)

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
KEY = bytes(range(32))


# --- the server key ------------------------------------------------------------------------


def test_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = load_server_key(None, data_dir)
    path = data_dir / "secret.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_server_key(None, data_dir) == key
    assert load_server_key("", data_dir) == key
    assert load_server_key(None, tmp_path / "other") != key
    assert [p.name for p in data_dir.iterdir()] == ["secret.key"]  # no temporary left


def test_key_from_the_environment(tmp_path: Path) -> None:
    raw = os.urandom(32)
    assert load_server_key(base64.urlsafe_b64encode(raw).decode(), tmp_path) == raw
    assert load_server_key(base64.urlsafe_b64encode(raw).decode().rstrip("="), tmp_path) == raw
    text = "correct horse battery staple, long enough"
    assert len(load_server_key(text, tmp_path)) == 32
    assert load_server_key(text, tmp_path) == load_server_key(text, tmp_path)
    assert not (tmp_path / "secret.key").exists()


def test_short_keys_and_damaged_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="32"):
        load_server_key("too short", tmp_path)
    (tmp_path / "secret.key").write_text("not a key\n")
    with pytest.raises(SecretKeyError, match=r"secret\.key"):
        load_server_key(None, tmp_path)


# --- API keys ------------------------------------------------------------------------------


def test_tokens_parse_back() -> None:
    key_id, secret, token = new_api_key()
    assert token == f"pt_{key_id}_{secret}"
    assert parse_token(token) == (key_id, secret)
    assert parse_token(f"  {token}\n") == (key_id, secret)
    assert new_api_key()[2] != token


@pytest.mark.parametrize(
    "token",
    ["", "pt_", "pt_abc_def", "xx_0123456789abcdef_" + "s" * 43, "pt_0123456789abcdef_" + "!" * 43],
)
def test_malformed_tokens(token: str) -> None:
    assert parse_token(token) is None


def test_key_hmac_depends_on_the_server_key() -> None:
    assert key_hmac(KEY, "secret") == key_hmac(KEY, "secret")
    assert key_hmac(KEY, "secret") != key_hmac(bytes(32), "secret")
    assert len(key_hmac(KEY, "secret")) == 64


async def test_api_key_round_trip(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        token = await ApiKeyRepository(session).create("campaign", "c1", "main", KEY, NOW)
    async with sessions() as session:
        row = await ApiKeyRepository(session).verify(token, KEY, NOW)
    assert row is not None
    assert (row.role, row.campaign_id, row.label, row.revoked_at) == (
        "campaign",
        "c1",
        "main",
        None,
    )
    key_id, secret = parse_token(token) or ("", "")
    assert row.id == key_id
    assert secret not in row.secret_hmac  # only the HMAC is kept


async def test_wrong_secret_unknown_id_and_other_server_key_fail(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        token = await ApiKeyRepository(session).create("admin", None, "", KEY, NOW)
    key_id, secret = parse_token(token) or ("", "")
    wrong_secret = f"pt_{key_id}_{'A' * len(secret)}"
    unknown_id = f"pt_{'f' * 16}_{secret}"
    async with sessions() as session:
        keys = ApiKeyRepository(session)
        assert await keys.verify(wrong_secret, KEY, NOW) is None
        assert await keys.verify(unknown_id, KEY, NOW) is None
        assert await keys.verify(token, bytes(32), NOW) is None
        assert await keys.verify("garbage", KEY, NOW) is None
        assert await keys.verify(token, KEY, NOW) is not None


async def test_revoked_keys_stop_working(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        keys = ApiKeyRepository(session)
        token = await keys.create("campaign", "c1", "old", KEY, NOW)
        other = await keys.create("campaign", "c2", "other", KEY, NOW + dt.timedelta(seconds=1))
    key_id = (parse_token(token) or ("", ""))[0]
    later = NOW + dt.timedelta(hours=1)
    async with sessions.begin() as session:
        keys = ApiKeyRepository(session)
        assert await keys.revoke(key_id, later)
        assert await keys.revoke(key_id, later + dt.timedelta(hours=1))  # keeps the first time
        assert not await keys.revoke("0" * 16, later)
    async with sessions() as session:
        keys = ApiKeyRepository(session)
        assert await keys.verify(token, KEY, NOW) is not None  # before the revocation
        assert await keys.verify(token, KEY, later) is None
        assert await keys.verify(other, KEY, later) is not None
        listed = await keys.list()
        assert [k.label for k in listed] == ["old", "other"]
        assert listed[0].revoked_at == later
        assert [k.label for k in await keys.list("c2")] == ["other"]


# --- PII -----------------------------------------------------------------------------------


def test_pii_round_trip() -> None:
    vault = PiiVault(KEY)
    for text in ["5551234567", "ana@example.com", "", "Zoë Ñandú 北京 🙂"]:
        sealed = vault.encrypt(text)
        assert sealed.startswith("enc:v1:")
        assert PiiVault.is_encrypted(sealed)
        assert text == "" or text not in sealed
        assert vault.decrypt(sealed) == text
    assert vault.encrypt("same") != vault.encrypt("same")  # a fresh nonce each time


def test_pii_tampering_is_detected() -> None:
    vault = PiiVault(KEY)
    sealed = vault.encrypt("5551234567")
    raw = bytearray(base64.urlsafe_b64decode(sealed.removeprefix("enc:v1:")))
    for position in (0, 12, len(raw) - 1):  # the nonce, the ciphertext, the tag
        altered = bytearray(raw)
        altered[position] ^= 1
        with pytest.raises(PiiError):
            vault.decrypt("enc:v1:" + base64.urlsafe_b64encode(bytes(altered)).decode())
    with pytest.raises(PiiError):
        PiiVault(bytes(32)).decrypt(sealed)  # another server key
    for junk in ["5551234567", "enc:v1:", "enc:v1:!!!", "enc:v1:" + sealed[7:20], "enc:v2:xx"]:
        with pytest.raises(PiiError):
            vault.decrypt(junk)


def test_pii_index_is_stable_normalized_and_keyed() -> None:
    vault = PiiVault(KEY)
    index = vault.index("email:ana@example.com")
    assert len(index) == 64
    assert PiiVault(KEY).index("email:ana@example.com") == index  # across processes
    assert vault.index("  EMAIL:Ana@Example.com ") == index
    assert vault.index("email:bob@example.com") != index
    assert PiiVault(bytes(32)).index("email:ana@example.com") != index
    # the index key is not the encryption key, nor the API-key HMAC key
    assert index != key_hmac(KEY, "email:ana@example.com")


def test_the_vault_needs_a_32_byte_key() -> None:
    with pytest.raises(SecretKeyError):
        PiiVault(b"short")
