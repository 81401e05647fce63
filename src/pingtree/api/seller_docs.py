"""What the seller API's OpenAPI documents say besides its bodies: who may call (security
schemes), ``Idempotency-Key``, the error answers typed (problem bodies, ``Retry-After``),
and examples of requests and answers.

The main document (``/openapi.json``) gets these through the routes of ``api.seller``; each
campaign's own document (``api.instructions``) through :func:`problem_schemas`,
:func:`error_responses` and :func:`idempotency_parameter`, so both say the same.
"""

from __future__ import annotations

from typing import Any

from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, Field

from pingtree.api.body import MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY
from pingtree.api.instructions_examples import PING_ID_PLACEHOLDER, example_answers

__all__ = [
    "API_KEY_HEADER",
    "BEARER",
    "SECURITY_SCHEMES",
    "answer_examples",
    "error_responses",
    "idempotency_parameter",
    "main_error_responses",
    "problem_schemas",
    "request_examples",
]

_KEY_TEXT = (
    "the campaign key (`pt_<id>_<secret>`, shown once when made); it may also be sent as an"
    " `api_key` field of the body (JSON or form)"
)
#: ``Authorization: Bearer <key>``; documents the scheme, the route reads the key itself
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", description=_KEY_TEXT)
#: ``X-Api-Key: <key>``
API_KEY_HEADER = APIKeyHeader(
    name="X-Api-Key", auto_error=False, scheme_name="apiKey", description=_KEY_TEXT
)
#: the same two schemes as a campaign document declares them
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": _KEY_TEXT},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": _KEY_TEXT},
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    }
}

#: status → (what it means, an example detail); 422's detail is a list of field problems
_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("malformed JSON or form", {"msg": "the body is not valid JSON: unexpected character"}),
    401: (
        "missing, malformed or invalid API key (`WWW-Authenticate: Bearer`)",
        {"msg": "an API key is required", "type": "missing_api_key"},
    ),
    403: (
        "not a key of this campaign, or its campaign is not configured",
        {"msg": "this key is not a campaign key", "type": "forbidden"},
    ),
    404: ("no such lead or campaign", {"msg": "no such lead"}),
    413: (
        f"the body is larger than {MAX_BODY_BYTES} bytes",
        {"msg": f"the body is larger than {MAX_BODY_BYTES} bytes"},
    ),
    415: (
        "the content type is neither JSON nor a form",
        {
            "msg": "send application/json or application/x-www-form-urlencoded",
            "type": "content_type",
        },
    ),
    422: (
        "invalid input: every offending field with its loc, msg and type; nothing was stored",
        [
            {
                "loc": ["body", "fields", "phone"],
                "msg": "must be a 10-digit US phone number",
                "type": "invalid_phone",
                "input": None,
            },
            {"loc": ["body", "fields", "zip"], "msg": "field required", "type": "missing"},
        ],
    ),
    429: (
        "too many requests: a rate limit of the campaign or of the key (detail.limit) was"
        " met; nothing was done: wait the Retry-After seconds",
        {
            "msg": "too many requests: the key's limit of 10 a second for ping calls",
            "type": "rate_limited",
            "limit": {
                "scope": "key",
                "call": "ping",
                "kind": "per_second",
                "limit": 10,
                "retry_after": 1,
            },
        },
    ),
    503: (
        "the server cannot take more work now and did nothing: retry after Retry-After",
        {
            "msg": "the server is catching up on its writes; try again shortly",
            "type": "unavailable",
        },
    ),
}


def problem_schemas(ref: str) -> dict[str, Any]:
    """``FieldProblem``, ``Problem`` (``detail`` an object: ``msg``, ``type``) and
    ``ValidationProblem`` (``detail`` the list of field problems, 422), their ``$ref``\\ s
    under ``ref``."""
    return {
        "FieldProblem": {
            "type": "object",
            "properties": {
                "loc": {
                    "type": "array",
                    "items": {"type": ["string", "integer"]},
                    "description": 'where: ["body", "fields", NAME], ["header", NAME], …',
                },
                "msg": {"type": "string"},
                "type": {"type": "string"},
                "input": {"description": "the value sent; null for personal data"},
            },
            "required": ["loc", "msg", "type"],
        },
        "Problem": {
            "type": "object",
            "properties": {
                "detail": {
                    "type": "object",
                    "properties": {"msg": {"type": "string"}, "type": {"type": "string"}},
                    "required": ["msg"],
                }
            },
            "required": ["detail"],
        },
        "ValidationProblem": {
            "type": "object",
            "properties": {"detail": {"type": "array", "items": {"$ref": ref + "FieldProblem"}}},
            "required": ["detail"],
        },
    }


def error_responses(ref: str, *statuses: int) -> dict[str, Any]:
    """The OpenAPI responses of ``statuses``, each typed and with an example; 429 and 503
    with ``Retry-After``."""
    responses: dict[str, Any] = {}
    for status in statuses:
        description, detail = _ERRORS[status]
        schema = "ValidationProblem" if status == 422 else "Problem"
        response: dict[str, Any] = {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {"$ref": ref + schema},
                    "example": {"detail": detail},
                }
            },
        }
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        responses[str(status)] = response
    return responses


class ProblemDetail(BaseModel):
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """A refusal: ``detail`` says why (``msg``) and what kind (``type``)."""

    detail: ProblemDetail


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description='where: ["body", "fields", NAME], …')
    msg: str
    type: str
    input: Any = Field(None, description="the value sent; null for personal data")


class ValidationProblem(BaseModel):
    """Invalid input (422): every offending field."""

    detail: list[FieldProblem]


def main_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """:func:`error_responses` for a route of the main document (the problem bodies as
    models, so they land in its components)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status, response in error_responses("", *statuses).items():
        media = response["content"]["application/json"]
        model = ValidationProblem if status == "422" else Problem
        responses[int(status)] = {
            "model": model,
            "description": response["description"],
            "content": {"application/json": {"example": media["example"]}},
            **({"headers": response["headers"]} if "headers" in response else {}),
        }
    return responses


def idempotency_parameter(stage: str) -> dict[str, Any]:
    """The ``Idempotency-Key`` header of a ping or a direct post."""
    rule = {
        "ping": "a ping repeated with the same key within its TTL gets the first answer,"
        " without asking buyers again",
        "direct_post": "a direct post repeated with the same key and body gets the first"
        " answer; the same key with another body is `duplicate`",
    }[stage]
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": f"your id for the lead, to make a retry safe: {rule}",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
        "example": "lead-000123",
    }


#: example bodies of the main document (a campaign's own document has its vertical's)
_PING = {"zip": "33101", "state": "FL", "age": 34, "credit_rating": "excellent"}
_CONTACT = {"first_name": "Ana", "phone": "3055550142", "email": "ana.lima@example.com"}


def request_examples(stage: str) -> dict[str, Any]:
    """JSON request examples of ``ping``, ``post`` or ``direct_post``."""
    body: dict[str, Any] = {
        "ping": {"fields": _PING, "test": True},
        "post": {"ping_id": PING_ID_PLACEHOLDER, "fields": _CONTACT, "test": True},
        "direct_post": {"fields": {**_PING, **_CONTACT}, "test": True},
    }[stage]
    return {"test_lead": {"summary": "a test lead", "value": body}}


def answer_examples(stage: str) -> dict[str, Any]:
    """Example answers of ``ping``, ``post``, ``direct_post`` or ``lead_outcome``."""
    answers = example_answers()
    names = {
        "ping": ("ping_accepted", "ping_missing"),
        "post": ("sold", "mismatch", "rejected"),
        "direct_post": ("sold", "rejected"),
        "lead_outcome": ("sold", "rejected"),
    }[stage]
    return {name: {"value": answers[name]} for name in names}
