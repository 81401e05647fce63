"""Example calls for a campaign's posting instructions, built from its vertical's field specs.

Each field gets an example value by its name when one is known (fictional by construction:
RFC 2606 domains, 555-01xx numbers, RFC 5737 addresses), else by its type, clamped to its
bounds; every value is run through the field's normalizer, so the examples pass validation.
The curl commands read the campaign key from ``$PINGTREE_API_KEY``: no key is ever printed.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson

from pingtree.domain.campaigns import Campaign
from pingtree.domain.fields import TRACKING_FIELDS, FieldValueError, normalize_value
from pingtree.domain.verticals import FieldSpec, FieldType, Vertical

__all__ = [
    "KEY_VARIABLE",
    "PING_ID_PLACEHOLDER",
    "Example",
    "example_answers",
    "example_bodies",
    "example_calls",
    "example_values",
    "form_body",
]

#: the shell variable the examples read the campaign key from: never a real key
KEY_VARIABLE = "PINGTREE_API_KEY"
#: what a post example holds in place of the ping id it needs
PING_ID_PLACEHOLDER = "PING_ID"


@dataclass(frozen=True)
class Example:
    """One call, as JSON and as a form, each with a curl command."""

    operation: str
    title: str
    url: str
    json_body: str
    form_body: str
    curl_json: str
    curl_form: str
    answer: str


# --- example values --------------------------------------------------------------------

#: example values by field name (fictional: RFC 2606 domains, 555-01xx numbers, RFC 5737
#: addresses); a value that does not fit its field falls back to its type's example
_NAMED: Mapping[str, object] = {
    "zip": "33101",
    "state": "FL",
    "city": "Miami",
    "first_name": "Ana",
    "last_name": "Lima",
    "email": "ana.lima@example.com",
    "phone": "3055550142",
    "address": "12 Maple St",
    "date_of_birth": "1990-04-12",
    "age": 34,
    "gender": "female",
    "occupation": "teacher",
    "current_carrier": "GEICO",
    "vehicle_make": "Toyota",
    "vehicle_model": "Camry",
    "vehicle_year": 2019,
    "annual_mileage": 12000,
    "household_income": 65000,
    "height_inches": 66,
    "weight_pounds": 150,
    "sub_id": "pub-101",
    "sub_id2": "spring",
    "sub_id3": "banner-a",
    "click_id": "ck-7f3a9",
    "source_url": "https://quotes.example.com/auto",
    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "ip_address": "203.0.113.7",
    "consent_text": "I agree to be contacted about quotes.",
    "consent_at": "2026-12-01T15:04:05Z",
    "trusted_form_cert_id": "9f2c1b7e4d5a6c8b0e1f2a3b4c5d6e7f8a9b0c1d",
    "jornaya_lead_id": "5A1B2C3D-4E5F-6789-ABCD-EF0123456789",
    "lead_ref": "ref-000123",
}

_BY_TYPE: Mapping[FieldType, object] = {
    FieldType.STRING: "example",
    FieldType.INTEGER: 1,
    FieldType.DECIMAL: "12.50",
    FieldType.BOOLEAN: True,
    FieldType.DATE: "2027-01-15",
    FieldType.EMAIL: "ana.lima@example.com",
    FieldType.PHONE: "3055550142",
    FieldType.ZIP: "33101",
    FieldType.STATE: "FL",
    FieldType.IP: "203.0.113.7",
    FieldType.URL: "https://www.example.com/",
}


def example_values(vertical: Vertical) -> dict[str, object]:
    """One valid example value per field, by name when known, else by type."""
    values: dict[str, object] = {}
    for spec in vertical.fields:
        for candidate in (_NAMED.get(spec.name), _typed(spec)):
            if candidate is not None and _fits(spec, candidate):
                values[spec.name] = candidate
                break
    return values


def _typed(spec: FieldSpec) -> object:
    if spec.type is FieldType.ENUM:
        return spec.values[0] if spec.values else None
    if spec.type in (FieldType.INTEGER, FieldType.DECIMAL):
        value = Decimal(str(_BY_TYPE[spec.type]))
        if spec.min is not None:
            value = max(value, spec.min)
        if spec.max is not None:
            value = min(value, spec.max)
        if spec.type is FieldType.INTEGER:
            return math.ceil(value)
        return format(value, "f")
    if spec.type is FieldType.STRING:
        return "example"[: spec.max_length]
    return _BY_TYPE[spec.type]


def _fits(spec: FieldSpec, value: object) -> bool:
    try:
        normalize_value(spec, value)
    except (FieldValueError, ValueError):
        return False
    return True


# --- example calls ---------------------------------------------------------------------


def example_bodies(vertical: Vertical, campaign: Campaign) -> dict[str, dict[str, Any]]:
    """The example JSON bodies by operation (``ping``, ``post``, ``direct_post``), as far as
    the campaign's modes allow: a test lead (``test: true``) with every field of the
    vertical's own (and a sub id); the ping without PII, the post with what the ping left
    out (the pinged fields are inherited), the direct post with all of it."""
    values = example_values(vertical)
    own = [s for s in vertical.fields if s.name not in {t.name for t in TRACKING_FIELDS}]
    required = set(campaign.ping_options.required_fields)
    pinged = {s.name: values[s.name] for s in own if not s.pii and s.name in values}
    pinged |= {name: values[name] for name in required if name in values}
    pinged["sub_id"] = values["sub_id"]
    contact = {s.name: values[s.name] for s in own if s.pii and s.name in values}
    bodies: dict[str, dict[str, Any]] = {}
    if "ping_post" in campaign.modes:
        bodies["ping"] = {"test": True, "fields": pinged}
        bodies["post"] = {"ping_id": PING_ID_PLACEHOLDER, "test": True, "fields": contact}
    if "direct_post" in campaign.modes:
        bodies["direct_post"] = {"test": True, "fields": {**pinged, **contact}}
    return bodies


def example_answers() -> dict[str, dict[str, Any]]:
    """Example answers by name (for the instructions and the OpenAPI documents)."""
    ping_id = "0193a4f2-7c1e-7b3a-9d4e-2f6a8b0c1d2e"
    lead_id = "0193a4f2-8d20-7e11-a5b6-c7d8e9f0a1b2"
    return {
        "ping_accepted": {
            "status": "accepted",
            "ping_id": ping_id,
            "bid": "21.70",
            "expires_at": "2026-12-07T15:05:00Z",
            "test": True,
        },
        "ping_missing": {
            "status": "rejected",
            "ping_id": ping_id,
            "reasons": ["missing_required_fields"],
            "missing": ["credit_rating"],
        },
        "sold": {"status": "sold", "lead_id": lead_id, "price": "21.70", "test": True},
        "mismatch": {
            "status": "rejected",
            "lead_id": lead_id,
            "reasons": ["ping_post_mismatch"],
            "fields": ["zip"],
        },
        "rejected": {"status": "rejected", "lead_id": lead_id, "reasons": ["no_eligible_buyers"]},
    }


def example_calls(vertical: Vertical, campaign: Campaign, base_url: str) -> tuple[Example, ...]:
    answers = example_answers()
    titles = {
        "ping": ("Ping", "/api/v1/ping", answers["ping_accepted"]),
        "post": ("Post (after an accepted ping)", "/api/v1/post", answers["sold"]),
        "direct_post": ("Direct post", "/api/v1/leads", answers["sold"]),
    }
    examples = []
    for operation, body in example_bodies(vertical, campaign).items():
        title, path, answer = titles[operation]
        url = base_url + path
        json_text = orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
        form_text = form_body(body)
        examples.append(
            Example(
                operation=operation,
                title=title,
                url=url,
                json_body=json_text,
                form_body=form_text,
                curl_json=_curl(url, "Authorization: Bearer", "application/json", json_text),
                curl_form=_curl(url, "X-Api-Key:", "application/x-www-form-urlencoded", form_text),
                answer=orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode(),
            )
        )
    return tuple(examples)


def form_body(body: Mapping[str, Any]) -> str:
    """A JSON body's form twin: the same names flat, every value as text."""
    flat: dict[str, object] = {k: v for k, v in body.items() if k != "fields"}
    flat.update(body.get("fields", {}))
    return urlencode({name: _form_value(value) for name, value in flat.items()})


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _curl(url: str, auth: str, content_type: str, body: str) -> str:
    # the key comes from the shell ("…" lets it expand); everything else is quoted as is
    return (
        f"curl -sS -X POST {shlex.quote(url)} \\\n"
        f'  -H "{auth} ${KEY_VARIABLE}" \\\n'
        f"  -H {shlex.quote('Content-Type: ' + content_type)} \\\n"
        f"  --data-binary {shlex.quote(body)}"
    )
