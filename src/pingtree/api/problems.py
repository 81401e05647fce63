"""HTTP problems: every 4xx is ``{"detail": ...}`` with each offending field and why.

Field errors take pydantic's shape ``{loc, msg, type, input}`` so that the answers to our
own checks and to FastAPI's request validation read alike (STYLE "Errors carry field paths").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from pingtree.domain.fields import FieldError
from pingtree.flows.errors import InputError, NotFound

__all__ = ["Problem", "field_problem", "install_problem_handlers"]

Loc = tuple[str | int, ...]


class Problem(Exception):
    """An HTTP 4xx to answer: a message, or a list of field errors."""

    def __init__(
        self, status: int, message: str = "", type_: str = "", errors: Sequence[dict[str, Any]] = ()
    ) -> None:
        super().__init__(message or f"{len(errors)} error(s)")
        self.status = status
        self.message = message
        self.type = type_
        self.errors = list(errors)

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
        return {"detail": detail}


def field_problem(loc: Loc, msg: str, type_: str, value: object) -> Problem:
    return Problem.from_errors([(loc, msg, type_, value)])


def input_problem(errors: Sequence[FieldError]) -> Problem:
    return Problem.from_errors([(e.loc, e.msg, e.type, e.input) for e in errors])


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    async def on_input(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InputError)
        problem = input_problem(exc.errors)
        return JSONResponse(problem.body(), status_code=422)

    async def on_not_found(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": {"msg": str(exc) or "not found"}}, status_code=404)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(InputError, on_input)
    app.add_exception_handler(NotFound, on_not_found)
