"""A lead's fields at rest: PII encrypted field by field, with HMAC keys for dedup (§8.5).

A buyer's redirect URL is PII at rest too: buyers prefill their landing page with the
consumer's email or name. It is sealed where it is stored (the outbox row, the lead's
answers) and opened only for the seller it is answered to, and for a reveal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingtree.domain.fields import values_to_json
from pingtree.domain.ping_dedup import hashed_key_text, seller_hash
from pingtree.domain.verticals import FieldType, LeadValue, Vertical
from pingtree.store.secrets import PiiVault

__all__ = [
    "MASK",
    "dedup_keys",
    "hash_key",
    "open_answer",
    "open_fields",
    "seal_fields",
    "seal_redirect",
    "shown_redirect",
    "value_key",
]

MASK = "•••"

#: the PII field types whose values identify a consumer for dedup
_DEDUP_TYPES = (FieldType.PHONE, FieldType.EMAIL)


def seal_fields(
    vertical: Vertical, values: Mapping[str, LeadValue], vault: PiiVault
) -> dict[str, Any]:
    """The JSON to store: non-PII values as they are, PII values encrypted."""
    data: dict[str, Any] = values_to_json(values)
    for spec in vertical.fields:
        if spec.pii and spec.name in data:
            data[spec.name] = vault.encrypt(str(data[spec.name]))
    return data


def open_fields(
    vertical: Vertical, data: Mapping[str, Any], vault: PiiVault, *, reveal: bool
) -> dict[str, Any]:
    """Stored fields for display: PII decrypted when ``reveal``, else masked."""
    shown = dict(data)
    for spec in vertical.fields:
        if spec.pii and spec.name in shown:
            shown[spec.name] = vault.decrypt(str(shown[spec.name])) if reveal else MASK
    return shown


def dedup_keys(vertical: Vertical, values: Mapping[str, LeadValue], vault: PiiVault) -> list[str]:
    """HMACs of the lead's phone numbers and email addresses, as dedup keys: for each, the
    key of its value (:func:`value_key`) and the key of its seller's hash
    (:func:`hash_key`), which a ping carrying ``phone_hash`` or ``email_hash`` looks up."""
    keys: set[str] = set()
    for spec in vertical.fields:
        if spec.type in _DEDUP_TYPES and spec.name in values:
            value = str(values[spec.name])
            keys.add(value_key(spec.type, value, vault))
            keys.add(hash_key(spec.type, seller_hash(value), vault))
    return sorted(keys)


def value_key(kind: FieldType, value: str, vault: PiiVault) -> str:
    """The dedup key of one normalized phone or email."""
    return vault.index(f"{kind}:{value}")


def hash_key(kind: FieldType, digest: str, vault: PiiVault) -> str:
    """The dedup key of a phone or email known by its seller's hash (``domain.ping_dedup``):
    an HMAC of the hash, so the history never holds the bare SHA-256 of a value."""
    return vault.index(hashed_key_text(kind, digest))


def seal_redirect(url: str | None, vault: PiiVault) -> str | None:
    """A buyer's redirect URL as it is stored: encrypted."""
    return vault.encrypt(url) if url else url


def shown_redirect(url: str | None, vault: PiiVault, *, reveal: bool) -> str | None:
    """A stored redirect URL for display: opened when ``reveal``, else masked; a value that
    is not sealed (an erased one, ``[erased]``) as it is."""
    if not url or not vault.is_encrypted(url):
        return url
    return vault.decrypt(url) if reveal else MASK


def open_answer(
    answer: Mapping[str, Any], vault: PiiVault, *, reveal: bool = True
) -> dict[str, Any]:
    """A stored answer to a seller as it is given: its redirect URL opened (the seller it
    answers sends the consumer there), or masked for a viewer without ``reveal``."""
    opened = dict(answer)
    if "redirect_url" in opened:
        opened["redirect_url"] = shown_redirect(opened["redirect_url"], vault, reveal=reveal)
    return opened
