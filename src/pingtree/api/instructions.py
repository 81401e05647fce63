"""A campaign's posting instructions as a typed OpenAPI 3.1 document (DESIGN §9).

``GET /api/v1/campaigns/{campaign_id}/openapi.json`` answers, to that campaign's key or an
admin token, the seller API as this campaign may use it: its operations (ping and post,
direct post, by its modes), each body with the vertical's fields typed
(:mod:`pingtree.api.field_schemas`), the answers and the reasons. It is computed from the
configuration snapshot, never written by hand, and kept per snapshot version: a change to
the campaign or its vertical shows in the next request.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response, Security

from pingtree.api.auth import KeyChecker, bearer_or_header
from pingtree.api.body import MAX_BODY_BYTES
from pingtree.api.field_schemas import fields_schema
from pingtree.api.instructions_examples import example_bodies
from pingtree.api.instructions_model import REASON_MEANINGS
from pingtree.api.problems import Problem
from pingtree.api.seller import SellerAnswer
from pingtree.api.seller_docs import (
    API_KEY_HEADER,
    BEARER,
    SECURITY_SCHEMES,
    answer_examples,
    error_responses,
    idempotency_parameter,
    main_error_responses,
    problem_schemas,
)
from pingtree.domain.campaigns import Campaign
from pingtree.domain.fields import Stage
from pingtree.domain.outcomes import Reason
from pingtree.domain.verticals import Vertical
from pingtree.flows.errors import NotFound
from pingtree.flows.ports import Ports
from pingtree.store.snapshot import Snapshot

__all__ = ["campaign_openapi", "instructions_router"]

_REF = "#/components/schemas/"


def instructions_router(ports: Ports, keys: KeyChecker) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["seller"])
    documents = _Documents()

    @router.get(
        "/campaigns/{campaign_id}/openapi.json",
        response_class=Response,
        responses={
            200: {
                "description": "the campaign's OpenAPI 3.1 document",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **main_error_responses(401, 403, 404),
        },
        dependencies=[Security(BEARER), Security(API_KEY_HEADER)],
    )
    async def campaign_document(campaign_id: str, request: Request) -> Response:
        """The campaign's posting instructions, machine-readable: the seller API with its
        fields typed (JSON type, format, pattern, bounds, allowed values, required per
        stage). Readable with the campaign's own key or an admin token."""
        caller = await keys.caller(bearer_or_header(request))
        if caller.role != "admin" and not (
            caller.role == "campaign" and caller.campaign_id == campaign_id
        ):
            raise Problem(403, "a key of this campaign or an admin token is needed", "forbidden")
        snapshot = ports.snapshots.current()
        if campaign_id not in snapshot.config.campaigns:
            raise NotFound(f"no campaign {campaign_id!r}")
        return Response(documents.of(snapshot, campaign_id), media_type="application/json")

    return router


class _Documents:
    """The campaigns' documents as JSON bytes, built once per snapshot.

    Keyed by the snapshot itself, not its version: the routes are built once per process
    and shared by every app in it (``api.serving``), and two apps' snapshots (the test
    suite's servers, each on its own database) may carry the same version number."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._documents: dict[str, bytes] = {}

    def of(self, snapshot: Snapshot, campaign_id: str) -> bytes:
        if snapshot is not self._snapshot:
            self._snapshot, self._documents = snapshot, {}
        document = self._documents.get(campaign_id)
        if document is None:
            document = orjson.dumps(campaign_openapi(snapshot, campaign_id))
            self._documents[campaign_id] = document
        return document


def campaign_openapi(snapshot: Snapshot, campaign_id: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of one configured campaign (``KeyError`` if it is not)."""
    campaign = snapshot.config.campaigns[campaign_id]
    vertical = snapshot.config.verticals[campaign.vertical_id]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {**_common_schemas()}
    examples = example_bodies(vertical, campaign)
    if "ping_post" in campaign.modes:
        ping_fields = fields_schema(vertical, Stage.PING, campaign.ping_options.required_fields)
        schemas["PingFields"] = ping_fields
        schemas["PingRequest"] = _envelope("PingFields", ping=True)
        schemas["PingForm"] = _form(
            fields_schema(
                vertical, Stage.PING, campaign.ping_options.required_fields, nullable=False
            ),
            ping=True,
        )
        schemas["PostFields"] = fields_schema(vertical, Stage.POST)
        schemas["PostRequest"] = _envelope("PostFields", post=True)
        schemas["PostForm"] = _form(fields_schema(vertical, Stage.POST, nullable=False), post=True)
        paths["/api/v1/ping"] = {"post": _operation("ping", "Ping", examples["ping"])}
        paths["/api/v1/post"] = {"post": _operation("post", "Post", examples["post"])}
    if "direct_post" in campaign.modes:
        schemas["LeadFields"] = fields_schema(vertical, Stage.POST)
        schemas["LeadRequest"] = _envelope("LeadFields")
        schemas["LeadForm"] = _form(fields_schema(vertical, Stage.POST, nullable=False))
        paths["/api/v1/leads"] = {
            "post": _operation("direct_post", "Lead", examples["direct_post"])
        }
    paths["/api/v1/leads/{lead_id}"] = {"get": _lead_outcome()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"pingtree: posting instructions for {campaign.name}",
            "version": str(snapshot.version),
            "description": _summary(campaign, vertical),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }


def _summary(campaign: Campaign, vertical: Vertical) -> str:
    modes = " and ".join(
        {"ping_post": "ping then post", "direct_post": "direct post"}[mode]
        for mode in sorted(campaign.modes)
    )
    return (
        f"Campaign `{campaign.id}` sells {vertical.name} leads by {modes}. A ping's answer"
        f" holds for {campaign.ping_ttl_seconds} s (`expires_at`); a ping is answered within"
        f" {campaign.ping_deadline_ms} ms (less with `tmax_ms`). Post the ping's fields"
        " again or leave them out (they are inherited); a field posted again must equal the"
        " pinged value. Every business outcome is HTTP 200 with `status` and `reasons`;"
        " bad input is a 422 naming each field and why. Bodies are JSON or a form with the"
        f" same names flat, at most {MAX_BODY_BYTES} bytes."
    ) + _own_formats(campaign)


def _own_formats(campaign: Campaign) -> str:
    """Where the campaign's sellers call in their own formats (not described here: the
    posting instructions show each, with examples in it)."""
    if not campaign.inbound:
        return ""
    urls = ", ".join(
        f"`/api/v1/in/{campaign.id}/{profile.id}/…` ({profile.format})"
        for profile in campaign.inbound
    )
    return (
        f" Sellers may also call in their own formats: {urls}; the campaign's posting"
        " instructions show each, with examples in it."
    )


def _envelope(fields: str, *, ping: bool = False, post: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "fields": {"$ref": _REF + fields},
        "test": {"type": "boolean", "description": "a test lead: reaches only test orders"},
        "meta": {"type": "object", "description": "free-form; accepted, not stored yet"},
        "api_key": _API_KEY,
    }
    required = ["fields"]
    if ping:
        properties["tmax_ms"] = _TMAX
    if post:
        properties["ping_id"] = _PING_ID
        required.append("ping_id")
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _form(fields: dict[str, Any], *, ping: bool = False, post: bool = False) -> dict[str, Any]:
    """The same names flat (``fields`` with no ``null``: a form has none), each value as
    text; ``meta.NAME`` for meta."""
    properties = dict(fields["properties"])
    properties["test"] = {"type": "boolean"}
    properties["api_key"] = _API_KEY
    required = list(fields["required"])
    if ping:
        properties["tmax_ms"] = _TMAX
    if post:
        properties["ping_id"] = _PING_ID
        required.append("ping_id")
    return {
        "type": "object",
        "properties": properties,
        "patternProperties": {r"^meta\.": {"type": "string"}},
        "required": required,
        "additionalProperties": False,
    }


_TMAX = {"type": "integer", "minimum": 1, "description": "answer within this many ms"}
# an id or a key holds no control character (the seller API refuses one, naming it); said
# as "no match anywhere", since a pattern's $ admits a final line feed in some dialects
_NO_CONTROL = {"pattern": r"[\x00-\x1f\x7f]"}
_API_KEY = {
    "type": "string",
    "not": _NO_CONTROL,
    "description": "the campaign key, if not in a header",
}
_PING_ID = {
    "type": "string",
    "minLength": 1,
    "not": _NO_CONTROL,
    "description": "the ping id from the ping's answer; an unknown one is answered `ping_unknown`",
}


def _operation(operation_id: str, schema: str, example: dict[str, Any]) -> dict[str, Any]:
    summary = {
        "ping": "Partial, non-PII lead data in; a bid and a ping id out",
        "post": "The full lead with the ping id of an accepted ping, before it expires",
        "direct_post": "A full lead with no ping, sold the same way",
    }[operation_id]
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"{_REF}{schema}Request"},
                    "examples": {"test_lead": {"summary": "a test lead", "value": example}},
                },
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": f"{_REF}{schema}Form"},
                    "examples": {
                        "test_lead": {"summary": "a test lead", "value": _form_example(example)}
                    },
                },
            },
        },
        "responses": {
            "200": _answer("the outcome: `status` and, when rejected, `reasons`", operation_id),
            **error_responses(_REF, 400, 401, 403, 413, 415, 422, 429, 503),
        },
    }
    if operation_id in ("ping", "direct_post"):
        operation["parameters"] = [idempotency_parameter(operation_id)]
    return operation


def _form_example(example: dict[str, Any]) -> dict[str, Any]:
    """A JSON example's form twin: the same names flat (a form's values are their text)."""
    return {**{k: v for k, v in example.items() if k != "fields"}, **example["fields"]}


def _lead_outcome() -> dict[str, Any]:
    return {
        "operationId": "lead_outcome",
        "summary": "A lead's final outcome, as it was (or will be) answered",
        "parameters": [
            {"name": "lead_id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": _answer("the lead's answer", "lead_outcome"),
            **error_responses(_REF, 401, 403, 404),
        },
    }


def _answer(description: str, stage: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": _REF + "SellerAnswer"},
                "examples": answer_examples(stage),
            }
        },
    }


def _common_schemas() -> dict[str, Any]:
    answer = SellerAnswer.model_json_schema(ref_template=_REF + "{model}", mode="serialization")
    definitions = answer.pop("$defs", {})
    definitions["Reason"] = {
        "type": "string",
        "enum": [str(reason) for reason in Reason],
        "description": "why a call was not accepted or not sold:\n"
        + "\n".join(f"- `{reason}`: {meaning}" for reason, meaning in REASON_MEANINGS.items()),
    }
    return {**definitions, "SellerAnswer": answer, **problem_schemas(_REF)}
