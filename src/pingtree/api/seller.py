"""The inbound seller API: ping, post, direct post, and a lead's final outcome.

Auth, malformed input and size are 4xx; every business outcome is HTTP 200 with ``status``
∈ ``accepted sold pending rejected`` and ``reasons`` (DESIGN §8.2).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import orjson
from fastapi import APIRouter, Request, Response, Security
from pydantic import BaseModel, Field

from pingtree.api.auth import Caller, KeyChecker, bearer_or_header
from pingtree.api.body import MAX_IDEMPOTENCY_KEY, SellerBody, read_seller_body
from pingtree.api.inbound import BEHIND, inbound_profile, read_inbound, refuse_other_method
from pingtree.api.inbound_answers import inbound_answer, inbound_problem
from pingtree.api.metrics import refusal
from pingtree.api.problems import Problem, input_problem
from pingtree.api.seller_docs import (
    API_KEY_HEADER,
    BEARER,
    answer_examples,
    idempotency_parameter,
    main_error_responses,
    request_examples,
)
from pingtree.api.seller_limits import seller_admitted
from pingtree.domain.outcomes import Reason
from pingtree.flows.direct_post import handle_direct_post
from pingtree.flows.errors import InputError, NotFound
from pingtree.flows.ping import handle_ping
from pingtree.flows.ports import Ports
from pingtree.flows.post import handle_post
from pingtree.flows.requests import SellerRequest
from pingtree.metrics import Metrics
from pingtree.store.batch_writer import WriterBehind
from pingtree.store.lead_fields import open_answer
from pingtree.store.traffic import LeadRepository

__all__ = ["MAX_IDEMPOTENCY_KEY", "SellerAnswer", "seller_router"]


class SellerBodyDoc(BaseModel):
    """The request body (JSON); a form post sends the same names flat, fields by name."""

    fields: dict[str, Any] = Field(description="the lead's fields by the vertical's names")
    test: bool = Field(False, description="a test lead: reaches only test orders, changes nothing")
    ping_id: str | None = Field(None, description="the post's ping id (from the ping's answer)")
    meta: dict[str, Any] = Field(
        default_factory=dict, description="free-form; accepted, not stored yet"
    )
    api_key: str | None = Field(None, description="the campaign key, if not sent in a header")
    tmax_ms: int | None = Field(None, description="answer a ping within this many milliseconds")


class SellerAnswer(BaseModel):
    status: Literal["accepted", "sold", "pending", "rejected"]
    ping_id: str | None = None
    lead_id: str | None = None
    bid: str | None = Field(None, description="ping: what you will be paid if the post sells")
    price: str | None = Field(None, description="post: what you are paid for this lead")
    expires_at: str | None = Field(None, description="ping: post before this instant (UTC)")
    redirect_url: str | None = Field(
        None, description="post: where to send the consumer, when the buyer gives one"
    )
    reasons: list[Reason] | None = None
    fields: list[str] | None = Field(
        None, description="the fields a post disagreed with its ping on"
    )
    missing: list[str] | None = Field(
        None,
        description="`missing_required_fields`: the campaign's required ping fields the"
        " ping lacked",
    )
    test: bool | None = None


def _doc(stage: str) -> dict[str, Any]:
    """The OpenAPI of a seller call besides its answer's model: the body (with examples),
    ``Idempotency-Key`` (ping and direct post), example answers."""
    doc: dict[str, Any] = {
        "requestBody": {
            "required": True,
            "description": "The fields are the campaign's vertical's; each campaign's own"
            " document types them: GET /api/v1/campaigns/{campaign_id}/openapi.json",
            "content": {
                "application/json": {
                    "schema": SellerBodyDoc.model_json_schema(),
                    "examples": request_examples(stage),
                },
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                },
            },
        },
        "responses": {
            "200": {"content": {"application/json": {"examples": answer_examples(stage)}}}
        },
    }
    if stage in ("ping", "direct_post"):
        doc["parameters"] = [idempotency_parameter(stage)]
    doc["security"] = _SECURITY_DOC
    return doc


_ERRORS = main_error_responses(400, 401, 403, 413, 415, 422, 429, 503)
#: who may call: the campaign key as a bearer token or ``X-Api-Key`` (or an ``api_key``
#: field); checked by the route itself. Declared by these dependencies where a call is
#: rare (they also put the schemes in the document's components); ping, post and direct
#: post name the schemes in their own document only (:data:`_SECURITY_DOC`), so that
#: FastAPI does not solve two dependencies on every seller's call
_SECURITY = [Security(BEARER), Security(API_KEY_HEADER)]
_SECURITY_DOC: list[dict[str, list[str]]] = [
    {BEARER.scheme_name: []},
    {API_KEY_HEADER.scheme_name: []},
]

Flow = Callable[[Ports, SellerRequest], Awaitable[dict[str, Any]]]
Reader = Callable[[Request], Awaitable[SellerBody]]
_OWN: dict[str, Any] = {"include_in_schema": False, "response_class": Response}


def seller_router(
    ports: Ports, keys: KeyChecker, metrics: Metrics, writers: Sequence[Backlogged] = ()
) -> APIRouter:
    """The seller routes. While one of ``writers`` is behind, ping, post and direct post
    answer 503 with ``Retry-After`` before doing any work (DESIGN §9)."""
    router = APIRouter(prefix="/api/v1", tags=["seller"])

    async def run(
        request: Request,
        flow: Flow,
        endpoint: str,
        read: Reader = read_seller_body,
        campaign: str | None = None,
    ) -> dict[str, Any]:
        """The flow's answer to one request, counted by ``endpoint`` (answer or refusal);
        the body read by ``read``, the key's campaign required to be ``campaign`` if set."""
        started = time.perf_counter()
        try:
            campaign_id, answer = await answer_of(request, flow, endpoint, read, campaign)
        except Exception as error:
            metrics.seller_refusal(endpoint, *refusal(error), time.perf_counter() - started)
            raise
        metrics.seller_answer(endpoint, campaign_id, answer, time.perf_counter() - started)
        return answer

    async def answer_of(
        request: Request, flow: Flow, call: str, read: Reader, campaign: str | None
    ) -> tuple[str, dict[str, Any]]:
        _refuse_when_behind(writers)  # before any work: nothing is acknowledged
        body = await read(request)
        caller = await _campaign_caller(keys, request, body)
        if caller.campaign_id not in ports.snapshots.current().config.campaigns:
            raise Problem(403, "the campaign of this key is not configured", "forbidden")
        if campaign is not None and caller.campaign_id != campaign:
            raise Problem(403, f"this key is not a key of campaign {campaign}", "forbidden")
        seller_request = SellerRequest(
            campaign_id=str(caller.campaign_id),
            fields=body.fields,
            test=body.test,
            ping_id=body.ping_id,
            idempotency_key=_idempotency_key(request),
            tmax_ms=body.tmax_ms,
            meta=body.meta,
        )
        async with seller_admitted(ports, seller_request.campaign_id, caller.key_id, call):
            return seller_request.campaign_id, await flow(ports, seller_request)

    @router.post(
        "/ping",
        response_model=SellerAnswer,  # documents the answer, which _answered sends
        openapi_extra=_doc("ping"),
        responses=_ERRORS,
    )
    async def ping(request: Request) -> Response:
        """Partial, non-PII lead data in; a bid and a ping id out."""
        return _answered(await run(request, handle_ping, "ping"))

    @router.post(
        "/post",
        response_model=SellerAnswer,  # documents the answer, which _answered sends
        openapi_extra=_doc("post"),
        responses=_ERRORS,
    )
    async def post(request: Request) -> Response:
        """The full lead with the ping id of an accepted ping, before it expires."""
        return _answered(await run(request, handle_post, "post"))

    @router.post(
        "/leads",
        response_model=SellerAnswer,  # documents the answer, which _answered sends
        openapi_extra=_doc("direct_post"),
        responses=_ERRORS,
    )
    async def direct_post(request: Request) -> Response:
        """A full lead with no ping, sold the same way."""
        return _answered(await run(request, handle_direct_post, "direct_post"))

    async def in_profile(
        request: Request, campaign_id: str, profile_id: str, flow: Flow, endpoint: str
    ) -> Response:
        """A call in a seller's own format (``api.inbound``), answered in it."""
        profile = inbound_profile(ports.snapshots.current(), campaign_id, profile_id)
        sent_as: dict[str, str] = {}

        async def read(request: Request) -> SellerBody:
            call = await read_inbound(request, profile)
            sent_as.update(call.sent_as)
            return call.body

        try:
            refuse_other_method(request, profile)
            answer = await run(request, flow, endpoint, read, campaign_id)
        except Problem as problem:
            return inbound_problem(profile, problem, sent_as)
        except InputError as error:
            return inbound_problem(profile, input_problem(error.errors), sent_as)
        except WriterBehind:
            return inbound_problem(profile, BEHIND, sent_as)
        return inbound_answer(profile, answer, sent_as)

    # the sellers' own formats: kept out of the OpenAPI (a campaign's posting
    # instructions document each profile with examples in its own format)
    methods = ["GET", "POST"]

    @router.api_route("/in/{campaign_id}/{profile_id}/ping", methods=methods, **_OWN)
    async def ping_in_profile(campaign_id: str, profile_id: str, request: Request) -> Response:
        return await in_profile(request, campaign_id, profile_id, handle_ping, "ping")

    @router.api_route("/in/{campaign_id}/{profile_id}/post", methods=methods, **_OWN)
    async def post_in_profile(campaign_id: str, profile_id: str, request: Request) -> Response:
        return await in_profile(request, campaign_id, profile_id, handle_post, "post")

    @router.api_route("/in/{campaign_id}/{profile_id}/leads", methods=methods, **_OWN)
    async def lead_in_profile(campaign_id: str, profile_id: str, request: Request) -> Response:
        return await in_profile(request, campaign_id, profile_id, handle_direct_post, "direct_post")

    @router.get(
        "/leads/{lead_id}",
        response_model=SellerAnswer,
        response_model_exclude_none=True,
        responses=main_error_responses(401, 403, 404),
        openapi_extra={
            "responses": {
                "200": {
                    "content": {"application/json": {"examples": answer_examples("lead_outcome")}}
                }
            }
        },
        dependencies=_SECURITY,
    )
    async def lead_outcome(lead_id: str, request: Request) -> dict[str, Any]:
        """A lead's final outcome, as it was (or will be) answered."""
        return await outcome_of(lead_id, request)

    async def outcome_of(
        lead_id: str, request: Request, campaign: str | None = None
    ) -> dict[str, Any]:
        caller = await _campaign_caller(keys, request, None)
        if campaign is not None and caller.campaign_id != campaign:
            raise Problem(403, f"this key is not a key of campaign {campaign}", "forbidden")
        async with ports.sessions() as session:
            lead = await LeadRepository(session).get(lead_id)
        if lead is None or lead.campaign_id != caller.campaign_id:
            raise NotFound("no such lead")
        if not lead.answer:
            return {"status": "pending", "lead_id": lead.id}
        return dict(open_answer(lead.answer, ports.vault))

    @router.get("/in/{campaign_id}/{profile_id}/leads/{lead_id}", **_OWN)
    async def lead_outcome_in_profile(
        campaign_id: str, profile_id: str, lead_id: str, request: Request
    ) -> Response:
        """A lead's final outcome in a seller's own format (the key in a header)."""
        profile = inbound_profile(ports.snapshots.current(), campaign_id, profile_id)
        try:
            answer = await outcome_of(lead_id, request, campaign_id)
        except Problem as problem:
            return inbound_problem(profile, problem, {})
        except NotFound as error:
            return inbound_problem(profile, Problem(404, str(error), "not_found"), {})
        return inbound_answer(profile, answer, {})

    return router


async def _campaign_caller(keys: KeyChecker, request: Request, body: SellerBody | None) -> Caller:
    token = bearer_or_header(request) or (body.api_key if body else None)
    caller = await keys.caller(token)
    if caller.role != "campaign" or caller.campaign_id is None:
        raise Problem(403, "this key is not a campaign key", "forbidden")
    return caller


class Backlogged(Protocol):
    """A background writer that says when it is too far behind to take more work."""

    name: str

    @property
    def behind(self) -> bool: ...


def _refuse_when_behind(writers: Sequence[Backlogged]) -> None:
    for writer in writers:
        if writer.behind:
            raise WriterBehind(writer.name, f"{writer.name} is behind")


#: what an answer carries, in the order ``SellerAnswer`` documents it
_ANSWER_FIELDS = tuple(SellerAnswer.model_fields)


def _answered(answer: Mapping[str, Any]) -> Response:
    """A flow's answer sent as ``SellerAnswer`` documents it: its fields, none of them
    null. Built here rather than by FastAPI from the route's ``response_model``, which
    would validate the flow's own dict against the model on every seller's call."""
    body = {name: answer[name] for name in _ANSWER_FIELDS if answer.get(name) is not None}
    return Response(orjson.dumps(body), media_type="application/json")


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key") or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise Problem.from_errors(
            [
                (
                    ("header", "idempotency-key"),
                    f"must be at most {MAX_IDEMPOTENCY_KEY} characters",
                    "too_long",
                    None,
                )
            ]
        )
    return key
