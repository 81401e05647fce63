"""A replay off the server's event loop (issue 17): ``flows.whatif.what_if`` run in a
worker process of its own, bounded in time and memory, so the pings the server answers
meanwhile are not delayed.

A replay is CPU work in Python (it holds the GIL): on the server's loop, or on a thread
of its process, it takes turns with the live pings. In a process of its own it takes the
second core instead. The worker is started for one replay (``spawn``: a clean
interpreter, no copy of the server's loop, threads or connections), opens its own engine
on the same database, and is ended when the replay ends or runs out of time:

- **time**: ``seconds`` of wall clock, then the worker is terminated and
  :class:`ReplayTooLarge` raised;
- **memory**: the worker's address space is capped (``RLIMIT_AS``) at ``memory_bytes``
  while it replays; a replay that would pass it fails in the worker with
  ``MemoryError``, raised here as :class:`ReplayTooLarge`. The allocation that fails may
  be on the database connection's thread, whose error then never reaches the replay
  (which waits on): any ``MemoryError`` in the worker, on any thread, raises a flag
  shared with this process, which looks at it while it waits and ends the worker. Out of
  memory, the interpreter may also end the worker with a fatal error and no answer (seen
  in a greenlet's switch): the answer's pipe then reads as ended, and that is said too
  (a pool of workers would have started another and waited for the lost answer until the
  time bound).

A draft that does not read is refused here, before any worker. A period of fewer than
``at_least`` pings, or a database only this process can see (SQLite in memory), is
replayed here, on the loop (which it lets through every 20 pings).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import multiprocessing
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pingtree.config.errors import ConfigError, ConfigIssue
from pingtree.config.parse import parse_config
from pingtree.config.schema import ConfigDocument
from pingtree.flows.replay_assume import split_draft
from pingtree.flows.whatif import WhatIf, what_if
from pingtree.store.db import create_engine, session_factory
from pingtree.store.replay_pings import count_stored_pings

__all__ = ["ReplayLimits", "ReplayTooLarge", "fewer_collections", "what_if_apart"]

#: what a worker answers when its replay ran out of its memory
_OUT_OF_MEMORY = "out of memory"


@dataclass(frozen=True)
class ReplayLimits:
    #: the wall clock a replay may take, the worker's start included
    seconds: float = 300.0
    #: fewer pings than this are replayed on the loop (a worker's start costs about as
    #: much CPU as replaying them: the loop is let through every few milliseconds)
    at_least: int = 2000
    #: the worker's address space (its imports take about 300 MB of it)
    memory_bytes: int = 2 * 1024**3


class ReplayTooLarge(Exception):
    """The replay passed its time or memory bound (the message says which)."""


async def what_if_apart(
    sessions: async_sessionmaker[AsyncSession],
    draft: str | ConfigDocument,
    since: dt.datetime,
    until: dt.datetime,
    *,
    campaign_id: str | None = None,
    focus: str | None = None,
    limits: ReplayLimits = ReplayLimits(),
) -> WhatIf:
    """``what_if(sessions, draft, since, until, …)`` in a worker process (the module).
    Raises ``ConfigError`` for a bad draft, :class:`ReplayTooLarge` past a bound."""
    if isinstance(draft, str):
        parse_config(split_draft(draft)[0])  # a draft that does not read: no worker
    url = _shared_url(sessions)
    few = await count_stored_pings(sessions, since, until, campaign_id, limits.at_least)
    if url is None or few < limits.at_least:
        return await what_if(sessions, draft, since, until, campaign_id=campaign_id, focus=focus)
    context = multiprocessing.get_context("spawn")
    out_of_memory = context.Value("b", 0)
    answers, answer = context.Pipe(duplex=False)
    task = (url, draft, since, until, campaign_id, focus, limits.memory_bytes)
    worker = context.Process(target=_work, args=(answer, out_of_memory, task), daemon=True)
    megabytes = limits.memory_bytes // 1024**2
    too_large = ReplayTooLarge(
        f"the replay needed more than {megabytes} MB: replay a shorter period or one campaign"
    )
    worker.start()
    answer.close()  # the worker's end: the pipe reads as ended once the worker is gone
    try:
        give_up_at = time.monotonic() + limits.seconds
        # the waits are on a thread of the loop's executor: the loop stays free
        while not await asyncio.to_thread(answers.poll, _LOOK_SECONDS):
            if out_of_memory.value:
                raise too_large
            if time.monotonic() >= give_up_at:
                raise ReplayTooLarge(
                    f"the replay took longer than {limits.seconds:g} s: replay a shorter "
                    "period or one campaign"
                )
        try:
            done = await asyncio.to_thread(answers.recv)
        except EOFError:
            # ended with no answer: a fatal error of the interpreter, which running out of
            # the capped address space can cause outside any Python code (a greenlet's
            # stack switch, an exception's normalization)
            await asyncio.to_thread(worker.join, _LOOK_SECONDS)
            raise ReplayTooLarge(
                f"the replay's worker ended with no answer (exit code {worker.exitcode}), "
                f"most likely as the replay needed more than {megabytes} MB: replay a "
                "shorter period or one campaign"
            ) from None
        if isinstance(done, WhatIf):
            return done
        if isinstance(done, BaseException):
            raise done
        if isinstance(done, str):  # _OUT_OF_MEMORY
            raise too_large
        raise ConfigError(done)
    finally:
        if worker.is_alive():
            worker.kill()  # ends the worker at once, whether it finished or not
        await asyncio.to_thread(worker.join)
        answers.close()


def _work(
    answer: Connection,
    out_of_memory: Synchronized[int],
    task: tuple[str, str | ConfigDocument, dt.datetime, dt.datetime, str | None, str | None, int],
) -> None:
    """The worker process: the replay (:func:`_replay`), its answer sent back, or the
    exception it raised."""
    _watch_memory(out_of_memory)
    try:
        done: object = _replay(*task)
    except Exception as error:
        done = error
    try:
        answer.send(done)
    except Exception:  # an exception that does not pickle: said by its text
        answer.send(RuntimeError(f"the replay failed: {done!r}"))
    answer.close()


def _shared_url(sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """The database's URL, password included, when another process can open it."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        return None
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector told to sweep less while a replay runs in a
    process of its own (the worker, the command line): what is alive already (the code
    and the configuration) is frozen out of its sweeps, and a sweep comes every
    :data:`_SWEEP_EVERY` new containers instead of 700. A replay makes millions of
    short-lived objects, freed by their counts, and keeps its caches of quotes and stored
    answers: with the defaults, a fifth to a quarter of its CPU went to sweeping them
    again and again. Not for a server's process, whose other work would sweep late."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(_SWEEP_EVERY, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


#: new containers between two of the collector's youngest sweeps during a replay
_SWEEP_EVERY = 50_000

#: how often the wait for a worker looks at its memory flag
_LOOK_SECONDS = 0.1

#: the worker's flag, raised on its first ``MemoryError`` (:func:`_watch_memory`)
_out_of_memory: Synchronized[int] | None = None


def _watch_memory(flag: Synchronized[int]) -> None:
    """The worker's start: a ``MemoryError`` on any of its threads raises ``flag``."""
    global _out_of_memory
    _out_of_memory = flag
    default = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if issubclass(args.exc_type, MemoryError):
            flag.value = 1
        default(args)

    threading.excepthook = hook


def _replay(
    url: str,
    draft: str | ConfigDocument,
    since: dt.datetime,
    until: dt.datetime,
    campaign_id: str | None,
    focus: str | None,
    memory_bytes: int,
) -> WhatIf | tuple[ConfigIssue, ...] | str:
    """The worker's task: its own engine on the database, the replay, the report; a bad
    draft's issues (a ``ConfigError`` does not survive pickling whole), or
    :data:`_OUT_OF_MEMORY`. The address space is capped once the code is imported, for
    the replay alone, and lifted again to send the answer back."""

    async def run() -> WhatIf:
        engine = create_engine(url, pool_size=1, max_overflow=1)
        try:
            return await what_if(
                session_factory(engine), draft, since, until, campaign_id=campaign_id, focus=focus
            )
        finally:
            await engine.dispose()

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        with fewer_collections():
            return asyncio.run(run())
    except ConfigError as error:
        return error.issues
    except MemoryError:
        if _out_of_memory is not None:
            _out_of_memory.value = 1
        return _OUT_OF_MEMORY
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
