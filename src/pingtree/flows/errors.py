"""Errors the flows raise for the API to answer with a 4xx.

Business outcomes (a rejected ping, an unsold lead) are answers, not errors: they are HTTP
200 with a ``status`` and ``reasons`` (DESIGN §8.2). Only malformed input is an error::

    FlowError
    ├── InputError     422: every offending field, in pydantic's {loc, msg, type, input} shape
    ├── NotFound       404
    └── Conflict       409: the thing is not in a state that allows it (a return decided)
"""

from __future__ import annotations

from collections.abc import Sequence

from pingtree.domain.fields import FieldError

__all__ = ["Conflict", "FlowError", "InputError", "NotFound"]


class FlowError(Exception):
    pass


class InputError(FlowError):
    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid input(s)")
        self.errors = tuple(errors)


class NotFound(FlowError):
    pass


class Conflict(FlowError):
    """The request is well formed but its subject's state refuses it; the message says
    why, ``kind`` names it for programs."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
