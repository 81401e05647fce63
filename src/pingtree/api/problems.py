"""HTTP problems: every 4xx is ``{"detail": ...}`` with each offending field and why.

Field errors take pydantic's shape ``{loc, msg, type, input}`` so that the answers to our
own checks and to FastAPI's request validation read alike (STYLE "Errors carry field paths").

When the server cannot take the work now (a background writer is behind, no database
connection came free in time, the database has no room for another client) the answer is
503 with ``Retry-After`` and ``{"detail": {"msg", "type": "unavailable"}}``, given before
anything was acknowledged, never a 500 (DESIGN §9 "back-pressure, never silent loss").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from pingtree.domain.fields import FieldError
from pingtree.flows.errors import Conflict, InputError, NotFound
from pingtree.principals import Forbidden
from pingtree.store.batch_writer import WriterBehind
from pingtree.store.set_aside import unavailable_reason

__all__ = [
    "Problem",
    "field_problem",
    "install_problem_handlers",
    "refuse_nul",
    "unavailable",
]

Loc = tuple[str | int, ...]

#: what a refused caller is told to wait: writers catch up and pools free up in moments
RETRY_AFTER_SECONDS = 1

#: a NUL in a raw query string, percent-encoded or sent as it is
_MAY_HOLD_NUL = re.compile(rb"%00|\x00")


class Problem(Exception):
    """An HTTP 4xx to answer: a message, or a list of field errors; ``headers`` to send
    with it (``Retry-After``), ``extra`` to add to its ``detail`` (what limit refused)."""

    def __init__(
        self,
        status: int,
        message: str = "",
        type_: str = "",
        errors: Sequence[dict[str, Any]] = (),
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message or f"{len(errors)} error(s)")
        self.status = status
        self.message = message
        self.type = type_
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @classmethod
    def from_errors(
        cls, errors: Sequence[tuple[Loc, str, str, object]], status: int = 422
    ) -> Problem:
        return cls(
            status,
            errors=[
                {"loc": list(loc), "msg": msg, "type": t, "input": v} for loc, msg, t, v in errors
            ],
        )

    def body(self) -> dict[str, Any]:
        if self.errors:
            return {"detail": jsonable_encoder(self.errors)}
        detail: dict[str, Any] = {"msg": self.message}
        if self.type:
            detail["type"] = self.type
        detail.update(self.extra)
        return {"detail": detail}


def field_problem(loc: Loc, msg: str, type_: str, value: object) -> Problem:
    return Problem.from_errors([(loc, msg, type_, value)])


def input_problem(errors: Sequence[FieldError]) -> Problem:
    return Problem.from_errors([(e.loc, e.msg, e.type, e.input) for e in errors])


async def refuse_nul(request: Request) -> None:
    """A dependency refusing (422) a NUL character in any query or path parameter, naming
    each: PostgreSQL text cannot hold one, so it would fail the query (a 500) instead of
    matching nothing. Found by fuzzing the admin API's filters. A coroutine: FastAPI runs
    a plain function dependency on its thread pool, a trip each request would pay for.
    The query is parsed only when its raw bytes hold a NUL, encoded or not: most requests
    (every seller's call) have none, and parsing costs more than looking."""
    errors: list[tuple[Loc, str, str, object]] = []
    if _MAY_HOLD_NUL.search(request.scope.get("query_string", b"")):
        errors += [
            (("query", name), "must not contain NUL characters", "invalid_characters", None)
            for name, value in request.query_params.multi_items()
            if "\x00" in name or "\x00" in value
        ]
    errors += [
        (("path", name), "must not contain NUL characters", "invalid_characters", None)
        for name, value in request.path_params.items()
        if isinstance(value, str) and "\x00" in value
    ]
    if errors:
        raise Problem.from_errors(errors)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        headers.update(exc.headers)
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    async def on_input(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InputError)
        problem = input_problem(exc.errors)
        return JSONResponse(problem.body(), status_code=422)

    async def on_not_found(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": {"msg": str(exc) or "not found"}}, status_code=404)

    async def on_conflict(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Conflict)
        return JSONResponse({"detail": {"msg": str(exc), "type": exc.kind}}, status_code=409)

    async def on_forbidden(_request: Request, exc: Exception) -> JSONResponse:
        body = {"detail": {"msg": str(exc) or "forbidden", "type": "forbidden"}}
        return JSONResponse(body, status_code=403)

    async def on_behind(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, WriterBehind)
        return unavailable("the server is catching up on its writes; try again shortly")

    async def on_database(_request: Request, exc: Exception) -> JSONResponse:
        reason = unavailable_reason(exc)
        if reason is None:
            raise exc  # a defect, not a full pool: the 500 it is, logged
        return unavailable(f"{reason}; try again shortly")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(InputError, on_input)
    app.add_exception_handler(NotFound, on_not_found)
    app.add_exception_handler(Conflict, on_conflict)
    app.add_exception_handler(Forbidden, on_forbidden)
    app.add_exception_handler(WriterBehind, on_behind)
    # the pool had no connection in time; the server had no room for another client
    # (asyncpg's "too many clients", SQLSTATE 53300, arrives wrapped as a DBAPIError)
    app.add_exception_handler(sa_exc.TimeoutError, on_database)
    app.add_exception_handler(sa_exc.DBAPIError, on_database)


def unavailable(message: str, retry_after: int = RETRY_AFTER_SECONDS) -> JSONResponse:
    """503 with ``Retry-After``: the work was refused before anything was done."""
    return JSONResponse(
        {"detail": {"msg": message, "type": "unavailable"}},
        status_code=503,
        headers={"Retry-After": str(retry_after)},
    )
