"""Ping-time dedup: which pings are one consumer's, without the consumer's PII (DESIGN §8.2).

Two checks, both before any buyer is asked:

- **The duplicate-ping cache.** A campaign with ``ping_dedup`` keys each ping by its
  **fingerprint**: a SHA-256 of the chosen ping fields' normalized values (and of the
  hashes below, when sent). A ping whose fingerprint was seen within the window gets the
  first ping's answer again (same ping id, same bid) or ``duplicate``, by setting.
- **Hashed phone and email.** A ping may carry ``phone_hash`` and ``email_hash`` among
  its fields: the lower-case hex SHA-256 of the consumer's phone or email *as pingtree
  normalizes it* (:func:`seller_hash`): a US phone's 10 digits (``3055550142``), an email
  trimmed and lower-cased (``ana@example.com``). They are never stored; they are looked
  up in the dedup history, whose keys (:func:`hashed_key_text`, under the server's HMAC
  key) every live lead records beside the keys of its plain values.

A test ping takes part in neither (test leads never enter dedup history).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

import orjson

from pingtree.domain.campaigns import PingDedup
from pingtree.domain.fields import TRACKING_FIELDS, FieldError, values_to_json
from pingtree.domain.verticals import FieldType, LeadValue, Vertical

__all__ = [
    "HASH_FIELDS",
    "ConsumerHashes",
    "fingerprint",
    "hashed_key_text",
    "seller_hash",
    "take_hashes",
]

#: the ping's fields that carry a hashed identifier, and what each identifies
HASH_FIELDS: Mapping[str, FieldType] = {
    "phone_hash": FieldType.PHONE,
    "email_hash": FieldType.EMAIL,
}

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_TRACKING = frozenset(spec.name for spec in TRACKING_FIELDS)

#: the field type of a hashed identifier → its lower-case hex SHA-256
ConsumerHashes = Mapping[FieldType, str]


def seller_hash(normalized: str) -> str:
    """What a seller sends as ``phone_hash`` or ``email_hash``: the lower-case hex SHA-256
    of the UTF-8 bytes of the value as pingtree normalizes it."""
    return hashlib.sha256(normalized.encode()).hexdigest()


def hashed_key_text(kind: FieldType, digest: str) -> str:
    """The text whose HMAC is the dedup key of a consumer known by a seller's hash: a lead
    records it for each phone and email it carries, a ping looks it up."""
    return f"{kind.value}#sha256:{digest}"


def take_hashes(
    fields: Mapping[str, object], loc: tuple[str | int, ...] = ("body", "fields")
) -> tuple[dict[str, object], dict[FieldType, str], list[FieldError]]:
    """The ping's fields without the hash fields, the hashes sent, and an error for each
    hash that is not 64 hexadecimal digits (upper case is read as lower). An empty or
    ``None`` hash counts as absent."""
    rest: dict[str, object] = {}
    hashes: dict[FieldType, str] = {}
    errors: list[FieldError] = []
    for name, value in fields.items():
        kind = HASH_FIELDS.get(name)
        if kind is None:
            rest[name] = value
            continue
        if value is None or value == "":
            continue
        digest = value.strip().lower() if isinstance(value, str) else None
        if digest is None or not _SHA256_HEX.fullmatch(digest):
            errors.append(
                FieldError(
                    (*loc, name),
                    "must be the hex SHA-256 (64 digits) of the normalized value",
                    "invalid_hash",
                    None,  # a malformed hash may be the value itself: PII, never echoed
                )
            )
            continue
        hashes[kind] = digest
    return rest, hashes, errors


def fingerprint(
    dedup: PingDedup,
    vertical: Vertical,
    values: Mapping[str, LeadValue],
    hashes: ConsumerHashes,
) -> str | None:
    """The ping's fingerprint under ``dedup``: the SHA-256 of the chosen fields' values
    (those the ping carries) and of its hashes; ``None`` when it carries none of them
    (nothing tells the consumer apart)."""
    names = dedup.fields or tuple(
        spec.name for spec in vertical.fields if not spec.pii and spec.name not in _TRACKING
    )
    chosen = {name: values[name] for name in names if name in values}
    if not chosen and not hashes:
        return None
    body = {
        "fields": values_to_json(chosen),
        "hashes": {kind.value: digest for kind, digest in sorted(hashes.items())},
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
