"""Counts a pingtree server's database transactions by where they come from (bench/sale.py
``--count-sql``): put this directory first on the server's ``PYTHONPATH`` and set
``PINGTREE_BENCH_SQLCOUNT`` to a file prefix. Does nothing otherwise.

Each transaction is keyed by the pingtree code that opened it (the innermost pingtree frame
and the flow above it) and counted with its statements, the wait for SQLite's
``BEGIN IMMEDIATE`` (the write lock, its busy handler's sleeps included), how long the
lock was then held, and the time from its start to its end. ``SIGUSR1`` writes the counts
so far to ``<prefix>.<pid>.json`` and starts again from zero. It costs the server CPU:
a run that counts is not a run that times.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

_PREFIX = os.environ.get("PINGTREE_BENCH_SQLCOUNT")


@dataclass
class _Open:
    origin: str
    started: float
    statements: list[str] = field(default_factory=list)
    statement_started: float = 0.0
    begin_wait: float | None = None
    locked_at: float | None = None


@dataclass
class _Origin:
    transactions: int = 0
    statements: int = 0
    shapes: collections.Counter[str] = field(default_factory=collections.Counter)
    begin_wait: float = 0.0
    held: float = 0.0
    locked: int = 0
    total: float = 0.0
    ends: collections.Counter[str] = field(default_factory=collections.Counter)


_open: dict[int, _Open] = {}
_origins: dict[str, _Origin] = collections.defaultdict(_Origin)
_events: collections.Counter[str] = collections.Counter()


def _where(frame: FrameType | None) -> str:
    """``flow (innermost pingtree function)``, from the frames that opened the transaction;
    the innermost pingtree function alone for work outside the flows (background writers)."""
    names: list[str] = []
    while frame is not None and len(names) < 12:
        path = frame.f_code.co_filename
        if "/pingtree/" in path and not path.endswith("/store/db.py"):
            module = path.rsplit("/pingtree/", 1)[1].removesuffix(".py")
            names.append(f"{module}:{frame.f_code.co_name}")
            if module.startswith(("flows/", "api/")):
                break
        frame = frame.f_back
    if not names:
        return "?"
    if len(names) == 1 or not names[-1].startswith(("flows/", "api/")):
        return names[0]
    return f"{names[-1]} ({names[0]})"


def _caller() -> FrameType | None:
    """The frames of the code that opened the transaction: SQLAlchemy's asyncio layer runs
    the statement in a greenlet, whose parent is suspended in the caller's coroutines."""
    import greenlet  # type: ignore[import-untyped]

    parent = greenlet.getcurrent().parent
    frame: FrameType | None = parent.gr_frame if parent is not None else None
    return frame if frame is not None else sys._getframe(3)


def _statement(text: str) -> str:
    words = text.split(None, 40)
    verb = words[0].upper() if words else "?"
    upper = [w.upper() for w in words]
    for keyword in ("INTO", "FROM", "UPDATE"):
        if keyword in upper and upper.index(keyword) + 1 < len(words):
            return f"{verb} {words[upper.index(keyword) + 1].strip(chr(34) + '(')}"
    return verb


def _install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import Pool

    def begin(connection: Connection) -> None:
        _open[id(connection)] = _Open(_where(_caller()), time.perf_counter())

    def before(connection: Connection, *_: Any) -> None:
        tx = _open.get(id(connection))
        if tx is not None:
            tx.statement_started = time.perf_counter()

    def after(connection: Connection, _c: Any, text: str, _p: Any, _x: Any, many: bool) -> None:
        tx = _open.get(id(connection))
        if tx is None:
            _events[f"outside a transaction: {_statement(text)}"] += 1
            return
        if text.lstrip().upper().startswith("BEGIN"):
            tx.locked_at = time.perf_counter()
            tx.begin_wait = tx.locked_at - tx.statement_started
        else:
            tx.statements.append(_statement(text) + (" (many)" if many else ""))

    def end(connection: Connection, how: str) -> None:
        tx = _open.pop(id(connection), None)
        if tx is None:
            return
        now = time.perf_counter()
        origin = _origins[tx.origin]
        origin.transactions += 1
        origin.statements += len(tx.statements)
        origin.shapes[" ; ".join(tx.statements)] += 1
        origin.ends[how] += 1
        origin.total += now - tx.started
        if tx.begin_wait is not None and tx.locked_at is not None:
            origin.locked += 1
            origin.begin_wait += tx.begin_wait
            origin.held += now - tx.locked_at

    def commit(connection: Connection) -> None:
        end(connection, "commit")

    def rollback(connection: Connection) -> None:
        end(connection, "rollback")

    def connect(*_: Any) -> None:
        _events["connections opened"] += 1

    def close(*_: Any) -> None:
        _events["connections closed"] += 1

    event.listen(Engine, "begin", begin)
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "commit", commit)
    event.listen(Engine, "rollback", rollback)
    event.listen(Pool, "connect", connect)
    event.listen(Pool, "close", close)
    signal.signal(signal.SIGUSR1, _dump)


def _dump(*_: Any) -> None:
    origins = {
        name: {
            "transactions": o.transactions,
            "statements": o.statements,
            "shapes": o.shapes.most_common(3),
            "ends": dict(o.ends),
            "begin_wait_s": o.begin_wait,
            "held_s": o.held,
            "locked": o.locked,
            "total_s": o.total,
        }
        for name, o in _origins.items()
    }
    path = f"{_PREFIX}.{os.getpid()}.json"
    with open(path + ".tmp", "w") as out:
        json.dump({"origins": origins, "events": dict(_events)}, out)
    os.replace(path + ".tmp", path)
    _origins.clear()
    _events.clear()


if _PREFIX:
    _install()
