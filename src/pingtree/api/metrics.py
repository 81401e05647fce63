"""``GET /metrics``: the Prometheus exposition, for a scraper that proves who it is.

The figures name campaigns and buyers and show the business's volume, so the endpoint is
never open, not even to loopback (a reverse proxy on the same host would make every
caller loopback). A scraper sends ``Authorization: Bearer <token>`` with either the
``PINGTREE_METRICS_TOKEN`` setting (for Prometheus: it grants nothing else) or an admin API
token. Without a token: 401; a campaign key: 403.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from pingtree.api.auth import KeyChecker, admin_only, bearer_or_header
from pingtree.api.problems import Problem
from pingtree.flows.errors import InputError, NotFound
from pingtree.metrics import Sampler, render
from pingtree.metrics.definitions import Metrics
from pingtree.settings import Settings
from pingtree.store.batch_writer import WriterBehind
from pingtree.store.set_aside import unavailable_reason

__all__ = ["metrics_router", "refusal"]

#: the kind of a 4xx without its own type, by status
_KIND_BY_STATUS = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "too_large",
    415: "content_type",
    422: "invalid_fields",
}


def metrics_router(
    metrics: Metrics, sampler: Sampler, keys: KeyChecker, settings: Settings
) -> APIRouter:
    """The ``/metrics`` route, for the metrics token setting or an admin token (without
    the setting, admin tokens only)."""
    router = APIRouter(tags=["ops"])
    admin = admin_only(keys)

    @router.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
            401: {"description": "no token, or not a valid one"},
            403: {"description": "a token that is neither the metrics token nor an admin's"},
        },
    )
    async def scrape(request: Request) -> Response:
        """Every metric of every worker (see README "Metrics")."""
        given = bearer_or_header(request)
        expected = settings.metrics_token
        if not (expected and given and hmac.compare_digest(given.encode(), expected.encode())):
            await admin(request)
        await sampler.scrape()
        body, content_type = await render(metrics, request.headers.get("accept", ""))
        return Response(body, media_type=content_type)

    return router


def refusal(error: BaseException) -> tuple[int, str]:
    """The HTTP status and the kind a seller request's error is answered with, for
    :meth:`Metrics.seller_refusal`; ``(500, "error")`` for one that is no refusal."""
    if isinstance(error, Problem):
        return error.status, error.type or _KIND_BY_STATUS.get(error.status, "problem")
    if isinstance(error, InputError):
        return 422, "invalid_fields"
    if isinstance(error, NotFound):
        return 404, "not_found"
    if isinstance(error, WriterBehind):
        return 503, "writer_behind"
    if unavailable_reason(error) is not None:  # no connection in time, or no room for one
        return 503, "database_busy"
    return 500, "error"
