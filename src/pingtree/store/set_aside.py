"""Rows a background writer could not store, and how to tell a bad row from a bad moment.

A row the database refuses for what it holds is set aside here with its error, visible to
an operator (``GET /api/v1/admin/set-aside``), so it never blocks the rows behind it
(DESIGN §9). A failure of the database itself (down, locked, out of connections, a
deadlock) says nothing about the row: :func:`is_transient` tells the two apart, and the
writer waits and tries again instead of setting anything aside.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

import uuid_utils
from sqlalchemy import Table, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.tables import SetAside

__all__ = [
    "SET_ASIDE",
    "SetAsideRepository",
    "is_transient",
    "printable",
    "set_aside_row",
    "unavailable_reason",
]

SET_ASIDE: Table = SetAside.__table__  # type: ignore[assignment]

#: PostgreSQL error classes that are the server's state, not the row's: connection
#: exceptions, transaction rollback (deadlock, serialization), insufficient resources
#: (too many clients, disk full), operator intervention (shutdown, starting up)
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57"})
#: ``lock_not_available``
_TRANSIENT_STATES = frozenset({"55P03"})
#: what an error's text is cut to when kept
_MAX_ERROR_CHARS = 2000
#: the largest integer every JSON reader and both databases hold
_INT64 = 2**63


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is the database's trouble (retry the same rows later) rather than
    the rows' (a value out of range, a broken constraint: set the bad row aside).

    SQLite reports a locked or unreachable file as ``OperationalError``; PostgreSQL (via
    asyncpg) gives a SQLSTATE, whose class says which it is. A pool that had no connection
    in time, a dropped connection and socket errors are transient too.
    """
    if isinstance(
        error,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | sa_exc.DisconnectionError
        | OSError
        | TimeoutError,
    ):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        state = _sqlstate(error)
        return state is not None and (state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES)
    return False


def unavailable_reason(error: BaseException) -> str | None:
    """Why a request could not get the database, when that is all that went wrong: the
    pool had no connection in time, or the server has no room for another client. The API
    answers these with 503 and ``Retry-After`` (nothing was acknowledged); ``None`` for
    any other error."""
    if isinstance(error, sa_exc.TimeoutError):
        return "no database connection was free in time"
    if isinstance(error, sa_exc.DBAPIError):
        state = _sqlstate(error)
        if state == "53300":
            return "the database has no room for another connection"
        if state == "57P03":
            return "the database is starting up or shutting down"
    return None


def _sqlstate(error: sa_exc.DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return state if isinstance(state, str) else None


def set_aside_row(
    writer: str, key: str, row: Mapping[str, Any], error: BaseException
) -> dict[str, Any]:
    """The ``set_aside`` row keeping ``row`` (refused with ``error``) for an operator."""
    return {
        "id": str(uuid_utils.uuid7()),
        "writer": writer,
        "row_key": str(key)[:64],
        "row": printable(row),
        "error": _text(f"{type(_cause(error)).__name__}: {_cause(error)}")[:_MAX_ERROR_CHARS],
        "created_at": dt.datetime.now(dt.UTC),
    }


def printable(value: Any) -> Any:
    """``value`` as JSON both databases keep: integers past 64 bits, decimals, times and
    anything else JSON has no form for become their text; NUL characters (which
    PostgreSQL text refuses) are shown escaped."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_text(str(k)): printable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [printable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return _text(repr(value))


def _text(text: str) -> str:
    text = text.replace("\x00", "\\x00")
    # a lone surrogate cannot be encoded as UTF-8 by either driver
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _cause(error: BaseException) -> BaseException:
    """The error under SQLAlchemy's wrapper: what the driver or the JSON encoder said."""
    if isinstance(error, sa_exc.StatementError) and error.orig is not None:
        return error.orig
    return error


class SetAsideRepository:
    """The rows writers set aside, newest first (for the admin API)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def recent(
        self, limit: int, *, writer: str | None = None, before: str | None = None
    ) -> Sequence[SetAside]:
        query = select(SetAside).order_by(SetAside.id.desc()).limit(limit)
        if writer:
            query = query.where(SetAside.writer == writer)
        if before:
            query = query.where(SetAside.id < before)
        return (await self._session.scalars(query)).all()

    async def counts(self) -> dict[str, int]:
        """How many rows each writer has set aside, in all."""
        query = select(SetAside.writer, func.count()).group_by(SetAside.writer)
        return {writer: int(count) for writer, count in (await self._session.execute(query)).all()}
