"""Presets of the quality steps that call an outside service (``type: http``): each a
partial check (``request``, ``results``, ``inputs``, ``error_when``) a step extends with
``preset:``, as a buyer's step extends a delivery preset (``delivery.presets``).

Each follows its vendor's published contract; the fixtures under
``tests/delivery/fixtures/checks/<preset>/`` cite the page and hold a request and answer
of that shape. The service's URL is the vendor's; a step may set its own (a proxy, a
test server). Credentials are ``{secret: NAME}`` references the operator stores.

- ``trustedform``: TrustedForm's Certificate API, version 4.0: ``POST`` to the
  certificate's own URL (``https://cert.trustedform.com/<id>``) with basic auth (user
  ``API``, the account's key), header ``api-version: 4.0``, a JSON body whose
  ``match_lead`` holds the lead's email and phone and whose ``retain`` claims (stores) the
  certificate. The answer's ``outcome`` is ``success``, ``failure`` or ``error``; an
  unknown or expired certificate is a 404. Results: ``verified`` (outcome success),
  ``lead_matched`` and ``expires_at``.
- ``jornaya``: Jornaya's (Verisk) LeadiD Authentication API: ``GET
  https://api.leadid.com/Authenticate?lac=<account code>&id=<LeadiD token>``, answered
  ``{"authenticate": {"authentic": 1, "token": "…"}}``; a token is 36 characters, any
  other is refused without a call. Result: ``valid``.
- ``fraud_score``: a fraud score in the shape of IPQualityScore's phone API: ``GET``
  with the phone, answered ``{"success": true, "fraud_score": 0–100, "valid": true,
  …}``; ``success: false`` is the service's own failure (credits, key), an error. The
  lead passes below 85 (IPQS: "≥85 high risk"). Set ``request.url`` to the service's
  endpoint. Results: ``score`` and ``valid``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CHECK_PRESETS", "PRESET_NAMES"]

#: preset name → a partial check in the YAML shape of ``delivery.checks.CheckSpec``
CHECK_PRESETS: Mapping[str, Mapping[str, object]] = {
    "trustedform": {
        "inputs": {
            # the certificate's id, or its whole URL (what TrustedForm's script puts in
            # the form); the id is what goes into the URL below
            "trusted_form_cert_id": r"^(?:https://cert\.trustedform\.com/)?([0-9A-Za-z_-]{1,255})$",
        },
        "request": {
            "url": "https://cert.trustedform.com/{trusted_form_cert_id}",
            "method": "POST",
            "content_type": "json",
            "timeout_ms": 3000,
            "headers": {"api-version": "4.0", "Accept": "application/json"},
            "auth": {
                "type": "basic",
                "username": "API",
                "password": {"secret": "trustedform_api_key"},
            },
            "body": {
                "fields": [
                    {"from": "email", "to": "match_lead.email"},
                    {"from": "phone", "to": "match_lead.phone"},
                    {"value": "pingtree", "to": "retain.vendor"},
                ]
            },
            "response": {
                "accepted": {"json": "$.outcome", "equals": ["success"]},
                "reason": {"json": "$.reason"},
            },
        },
        "error_when": {"json": "$.outcome", "equals": ["error"]},
        "results": {
            "verified": {"json": "$.outcome", "equals": ["success"], "as": "boolean"},
            "lead_matched": {
                "json": "$.match_lead.result.success",
                "equals": [True],
                "as": "boolean",
            },
            "expires_at": {"json": "$.retain.results.expires_at", "as": "text"},
        },
    },
    "jornaya": {
        "inputs": {"jornaya_lead_id": r"^[0-9A-Za-z-]{36}$"},
        "request": {
            "url": "https://api.leadid.com/Authenticate",
            "method": "GET",
            "content_type": "query",
            "timeout_ms": 2000,
            "headers": {"Accept": "application/json"},
            "auth": {"type": "query", "name": "lac", "value": {"secret": "jornaya_account_code"}},
            "body": {"fields": [{"from": "jornaya_lead_id", "to": "id"}]},
            "response": {"accepted": {"json": "$.authenticate.authentic", "equals": [1]}},
        },
        "results": {
            "valid": {"json": "$.authenticate.authentic", "equals": [1], "as": "boolean"},
        },
    },
    "fraud_score": {
        "request": {
            "method": "GET",
            "content_type": "query",
            "timeout_ms": 2000,
            "body": {"fields": [{"from": "phone", "to": "phone"}]},
            # no reason rule: IPQS's ``message`` says "Success." on a high score too
            "response": {"accepted": {"json": "$.fraud_score", "lt": 85}},
        },
        "error_when": {"json": "$.success", "equals": [False]},
        "results": {
            "score": {"json": "$.fraud_score", "as": "number"},
            "valid": {"json": "$.valid", "equals": [True], "as": "boolean"},
        },
    },
}

#: the name a preset's step takes when it names none (its results: ``trustedform.verified``)
PRESET_NAMES: Mapping[str, str] = {
    "trustedform": "trustedform",
    "jornaya": "jornaya",
    "fraud_score": "fraud",
}
