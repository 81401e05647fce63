"""A lead's fields at rest: PII encrypted field by field, with HMAC keys for dedup (§8.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pingtree.domain.fields import values_to_json
from pingtree.domain.model import FieldType, LeadValue, Vertical
from pingtree.store.secrets import PiiVault

__all__ = ["MASK", "dedup_keys", "open_fields", "seal_fields"]

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
    """HMACs of the lead's phone numbers and email addresses, as dedup keys."""
    return sorted(
        {
            vault.index(f"{spec.type}:{values[spec.name]}")
            for spec in vertical.fields
            if spec.type in _DEDUP_TYPES and spec.name in values
        }
    )
