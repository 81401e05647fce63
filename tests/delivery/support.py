"""Shared test data for delivery tests: a vertical's field names, leads, secrets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from pingtree.delivery.compiled import CompiledDelivery
from pingtree.delivery.spec import compile_delivery
from pingtree.domain.verticals import LeadValue

#: the auto-insurance vertical's fields (a subset) plus tracking fields
KNOWN = frozenset(
    {
        "zip",
        "state",
        "city",
        "age",
        "date_of_birth",
        "gender",
        "credit_rating",
        "homeowner",
        "currently_insured",
        "current_carrier",
        "vehicle_year",
        "vehicle_make",
        "annual_mileage",
        "income",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "sub_id",
        "ip_address",
        "user_agent",
        "jornaya_lead_id",
    }
)
PII = frozenset(
    {"date_of_birth", "first_name", "last_name", "email", "phone", "address", "ip_address"}
)

SECRETS = {
    "shield_token": "tok-123",
    "api_user": "pingtree",
    "api_password": "s3cret",
    "api_key": "key-456",
    "crlf": "bad\r\nX-Injected: 1",
}


def resolve_secret(name: str) -> str:
    return SECRETS[name]


def compile_spec(raw: Mapping[str, object]) -> CompiledDelivery:
    return compile_delivery(raw, PII, KNOWN)


def lead_values(raw: Mapping[str, object]) -> dict[str, LeadValue]:
    """JSON lead values: ``{"date": "…"}`` and ``{"decimal": "…"}`` for the typed ones."""
    out: dict[str, LeadValue] = {}
    for name, value in raw.items():
        if isinstance(value, dict) and set(value) == {"date"}:
            out[name] = dt.date.fromisoformat(value["date"])
        elif isinstance(value, dict) and set(value) == {"decimal"}:
            out[name] = Decimal(value["decimal"])
        elif isinstance(value, str | int | bool):
            out[name] = value
        else:
            raise ValueError(f"unsupported lead value for {name}: {value!r}")
    return out
