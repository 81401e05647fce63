"""Finding a person's leads by email or phone without reading anyone's PII (DESIGN §8.5).

The value asked is canonicalized exactly as intake does (``domain.fields``), then turned into
its HMAC index, the dedup key every live lead is remembered under in the inbound history
(``flows.intake``). The leads are found by that key: nothing is decrypted to search. Test
leads never enter the dedup history, so they are not found by email or phone (by id,
``lead_ref``, ``sub_id`` and date they are).

A value that is no email or phone raises :class:`~pingtree.flows.errors.InputError` naming
the parameter (``["query", "email"]``), never echoing the value: it is personal data.
"""

from __future__ import annotations

import re

from pingtree.domain.fields import FieldError, FieldValueError, normalize_value
from pingtree.domain.verticals import FieldSpec, FieldType
from pingtree.flows.errors import InputError
from pingtree.store.erasure import consumer_key
from pingtree.store.secrets import PiiVault

__all__ = ["PERSON_KEY", "person_keys"]

#: a person key as the UI's links carry it in place of the email or phone: an HMAC index
PERSON_KEY = re.compile(r"[0-9a-f]{64}")
#: the longest email or phone searched for (an email's limit)
_MAX_LENGTH = 320


def person_keys(vault: PiiVault, *, email: str | None, phone: str | None) -> list[str]:
    """The HMAC indexes of the email and phone asked (either may be ``None``); every
    malformed one is reported at once."""
    keys: list[str] = []
    errors: list[FieldError] = []
    for kind, value in ((FieldType.EMAIL, email), (FieldType.PHONE, phone)):
        if value is None:
            continue
        name = str(kind)
        if len(value) > _MAX_LENGTH:
            message = f"must be at most {_MAX_LENGTH} characters"
            errors.append(FieldError(("query", name), message, "too_long"))
            continue
        try:
            canonical = normalize_value(FieldSpec(name=name, type=kind, pii=True), value)
        except FieldValueError as error:
            errors.append(FieldError(("query", name), error.msg, error.type))
            continue
        keys.append(consumer_key(kind, str(canonical), vault))
    if errors:
        raise InputError(errors)
    return keys
