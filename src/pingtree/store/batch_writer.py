"""One bounded, isolated batch writer: the loop behind the pings' writer and the delivery log.

Rows that may be written a moment after the answer (pings, attempts: DESIGN §8.4) are
queued in memory and inserted by one background task per process, many per transaction
(group commit). Three promises keep it honest (DESIGN §9, "back-pressure, never silent
loss"):

- **Isolated.** A row the database refuses for what it holds (a value out of range, a
  broken constraint) never blocks the rows behind it: a failed batch is split in halves
  until the bad rows stand alone, the good ones are written and each bad one is **set
  aside** (``set_aside`` table: the row made printable, the error) for an operator.
  A failure of the database itself (down, locked, out of connections) is no fault of the
  rows: the batch is kept and tried again, with a growing pause capped at a few seconds.
- **Bounded, never dropped.** A row once queued is kept until it is written or set aside.
  Past the high-water mark the writer is :attr:`~BatchWriter.behind`: the seller API then
  refuses new work with 503 and ``Retry-After`` instead of queueing more, so memory stays
  within about high-water + the rows of the requests already in flight.
- **One owner at a time.** A caller that needs a row stored now may :meth:`~BatchWriter.take`
  it from the queue and store it in a transaction of its own (a post, its ping: claimed,
  in its sale's transaction); until that ends the row is still seen here, and if it did
  not commit the row comes back to the queue.
- **Every wait has a limit.** :meth:`~BatchWriter.settled` and :meth:`~BatchWriter.drained`
  raise :class:`WriterBehind` past their timeout; :meth:`~BatchWriter.stop` gives a
  database that keeps failing a bounded time, then logs what it could not write.

Errors::

    Exception
    └── WriterBehind     a wait on a writer ran out of time, or it is past its high water
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.store.prepared import Prepared
from pingtree.store.set_aside import SET_ASIDE, is_transient, set_aside_row
from pingtree.store.transactions import Transactions

__all__ = ["BatchWriter", "Taken", "WriterBehind"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the first pause after the database failed a batch, doubled up to the cap
_FIRST_RETRY_SECONDS = 0.1
_MAX_RETRY_SECONDS = 5.0
#: how long :meth:`BatchWriter.stop` keeps trying a database that fails before giving up
_STOP_SECONDS = 10.0

#: more work in a batch's transaction, after its rows went in
AfterInsert = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]


class WriterBehind(Exception):
    """A writer cannot keep up: its backlog is past high water, or a wait on it timed out.

    The API answers 503 with ``Retry-After: retry_after`` (DESIGN §9): nothing was done.
    """

    def __init__(self, writer: str, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.writer = writer
        self.retry_after = retry_after


class BatchWriter(Generic[T]):
    """Queue items of type ``T``; a background task inserts them as rows of ``table``.

    ``key`` names an item (its row's primary key); ``to_row`` gives its column values,
    called when its batch is written, off the caller's path. ``linger`` is how long the
    first item after a quiet spell waits for company: a transaction costs about a
    millisecond of CPU whatever its size, so one per item would cost more than the item.
    ``high_water``: where it reports :attr:`behind`; ``stop_seconds``: how long
    :meth:`stop` keeps trying a failing database; ``after_insert`` runs in each batch's
    transaction once its rows are in.
    """

    def __init__(
        self,
        name: str,
        transactions: Transactions,
        table: Table,
        *,
        key: Callable[[T], str],
        to_row: Callable[[T], dict[str, Any]],
        max_batch: int = 2000,
        linger: float = 0.01,
        high_water: int = 20_000,
        stop_seconds: float = _STOP_SECONDS,
        after_insert: AfterInsert | None = None,
    ) -> None:
        self.name = name
        self._after_insert = after_insert
        self._transactions = transactions
        self._table = table
        #: built once: a plain executemany of rows with every column given
        self._inserts = {t: Prepared(insert(t)) for t in (table, SET_ASIDE)}
        self._key = key
        self._to_row = to_row
        self._max_batch = max_batch
        self._linger = linger
        self._high_water = high_water
        self._stop_seconds = stop_seconds
        #: queued items by key, oldest first
        self._queue: dict[str, T] = {}
        #: the batch being written right now
        self._flight: dict[str, T] = {}
        #: items taken to be stored by their callers (:meth:`take`)
        self._taken: dict[str, T] = {}
        self._wake = asyncio.Event()
        #: set by a caller waiting for an item: the linger ends at once
        self._hurry = asyncio.Event()
        #: set (and replaced) whenever items leave the writer: the waiters look again
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_deadline = float("inf")
        self._behind = False
        #: rows this process set aside since it started
        self.set_aside_count = 0
        #: rows this process could not keep at all (the database failed past stop's limit)
        self.lost_count = 0

    # --- the callers' side ------------------------------------------------------------

    def add(self, item: T) -> None:
        """Queue ``item``. Never refuses: what was accepted is kept (check :attr:`behind`
        before accepting new work)."""
        self._queue[self._key(item)] = item
        self._wake.set()

    def take(self, key: str) -> Taken[T] | None:
        """``key``'s item, taken from the queue to be stored by the caller, in a
        transaction it runs (:class:`Taken`); ``None`` when it is not queued (being written
        already, or not here)."""
        item = self._queue.pop(key, None)
        if item is None:
            return None
        self._taken[key] = item
        return Taken(self, key, item)

    def _given_back(self, key: str, stored: bool) -> None:
        """A taken item's transaction ended: stored, or back in the queue to be written."""
        item = self._taken.pop(key)
        if not stored:
            self._queue[key] = item
            self._wake.set()
        self._notify()

    @property
    def backlog(self) -> int:
        """Items queued, being written, or taken to be stored."""
        return len(self._queue) + len(self._flight) + len(self._taken)

    @property
    def behind(self) -> bool:
        """Whether new work should be refused: true from high water until the backlog is
        back under half of it (so it does not flap at the mark)."""
        backlog = self.backlog
        if backlog >= self._high_water:
            if not self._behind:
                log.warning("%s is behind: %d rows waiting to be written", self.name, backlog)
            self._behind = True
        elif backlog <= self._high_water // 2:
            self._behind = False
        return self._behind

    def queued(self) -> Iterator[T]:
        """The items not yet written (queued, in the batch being written, or taken)."""
        yield from self._flight.values()
        yield from self._taken.values()
        yield from self._queue.values()

    def get(self, key: str) -> T | None:
        """``key``'s item while it waits here (queued, being written or taken), else
        ``None``."""
        return self._queue.get(key) or self._flight.get(key) or self._taken.get(key)

    def pending(self, key: str) -> bool:
        return key in self._queue or key in self._flight or key in self._taken

    async def settled(self, key: str, seconds: float) -> None:
        """Return once ``key``'s item is no longer waiting here (written or set aside); at
        once if this process never had it. Someone waits for it, so the writer ends its
        linger for company now. Raises :class:`WriterBehind` past ``seconds`` seconds."""
        if self.pending(key):
            self._hurry.set()
        await self._wait_until(lambda: not self.pending(key), seconds)

    async def drained(self, seconds: float) -> None:
        """Return once every item queued before the call has left the writer. Raises
        :class:`WriterBehind` past ``seconds`` seconds."""
        keys = [*self._flight, *self._taken, *self._queue]
        await self._wait_until(lambda: not any(self.pending(k) for k in keys), seconds)

    async def _wait_until(self, done: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WriterBehind(
                    self.name, f"{self.name} has not written in {seconds:g} s ({self.backlog})"
                )
            progress = self._progress
            try:
                async with asyncio.timeout(remaining):
                    await progress.wait()
            except TimeoutError:
                continue  # checked once more above, then refused

    # --- the task -------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._stop_deadline = float("inf")
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Write what is queued, then end the task. Never cut off inside a transaction (it
        would keep SQLite's write lock); a database that keeps failing gets a bounded time,
        then what is left is logged as lost."""
        self._stopping = True
        self._stop_deadline = time.monotonic() + self._stop_seconds
        if self._task is not None:
            self._wake.set()
            try:
                # the task keeps to the deadline itself; this is for a database that hangs
                await asyncio.wait_for(asyncio.shield(self._task), self._stop_seconds + 5)
            except TimeoutError:
                self._task.cancel()
                log.error("%s did not finish in time: %d rows lost", self.name, self.backlog)
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far, here and now (the task need not run)."""
        while self._queue:
            if not await self._write_next():
                break

    async def _run(self) -> None:
        while not self._stopping:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                if not self._stopping and len(self._queue) < self._max_batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), self._linger)
            self._hurry.clear()
            if self._queue and not await self._write_next():
                return

    async def _write_next(self) -> bool:
        """Write the next batch; ``False`` when it was given up (stopping, past the limit)."""
        keys = list(self._queue)[: self._max_batch]
        for key in keys:
            self._flight[key] = self._queue.pop(key)
        try:
            batch = list(self._flight.values())
            kept = await self._write(batch)
        finally:
            lost = len(self._flight)
            self._flight.clear()
            self._notify()
        if not kept:
            self.lost_count += lost
            log.error("%s gave up on %d rows: the database kept failing", self.name, lost)
        return kept

    async def _write(self, items: Sequence[T]) -> bool:
        """Store ``items``: all, or the good ones with the bad set aside. ``False`` when
        the database kept failing past the stop limit (the items are not stored)."""
        rows = [self._to_row(item) for item in items]
        error = await self._insert_rows_into(self._table, rows)
        if error is None:
            self._done(items)
            return True
        if isinstance(error, _GaveUp):
            return False
        if len(items) == 1:
            return await self._set_aside(items[0], rows[0], error)
        half = len(items) // 2
        return await self._write(items[:half]) and await self._write(items[half:])

    async def _insert_rows_into(self, table: Table, rows: list[dict[str, Any]]) -> Exception | None:
        """``None`` once the rows are in; the error when the rows themselves were refused;
        :class:`_GaveUp` when the database itself kept failing past the stop limit."""
        pause = _FIRST_RETRY_SECONDS
        while True:
            try:
                # one statement (an executemany is one, all rows or none) unless more work
                # follows the rows: then a transaction around both
                alone = self._after_insert is None or table is not self._table
                run = self._transactions.run_one if alone else self._transactions.run
                await run(lambda session: self._insert(session, table, rows))
                return None
            except Exception as error:
                if not is_transient(error):
                    return error
                if time.monotonic() + pause > self._stop_deadline:
                    return _GaveUp()
                log.warning(
                    "%s: the database failed %d rows, again in %.1f s: %s",
                    self.name,
                    len(rows),
                    pause,
                    _first_line(error),
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, _MAX_RETRY_SECONDS)

    async def _insert(
        self, session: AsyncSession, table: Table, rows: list[dict[str, Any]]
    ) -> None:
        """``rows`` of ``table`` in ``session``'s transaction (a taken item's too)."""
        # the table, not an entity: a plain executemany, no per-row ORM work
        await self._inserts[table].run(session, rows)
        if self._after_insert is not None and table is self._table:
            await self._after_insert(session, rows)

    async def _set_aside(self, item: T, row: Mapping[str, Any], error: Exception) -> bool:
        """Keep a refused row in ``set_aside``; ``False`` only when giving up at stop."""
        key = self._key(item)
        log.error("%s set aside row %s: %s", self.name, key, _first_line(error))
        aside = set_aside_row(self.name, key, row, error)
        failure = await self._insert_rows_into(SET_ASIDE, [aside])
        if isinstance(failure, _GaveUp):
            return False
        if failure is None:
            self.set_aside_count += 1
        else:  # printable JSON and text refused too: nothing more can be done but say so
            self.lost_count += 1
            log.error("%s could not set aside row %s either: %s", self.name, key, failure)
        self._done([item])
        return True

    def _done(self, items: Sequence[T]) -> None:
        for item in items:
            self._flight.pop(self._key(item), None)
        self._notify()

    def _notify(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()


class Taken(Generic[T]):
    """An item taken from its writer (:meth:`BatchWriter.take`): its :meth:`row` is
    inserted by the caller, in a transaction of the caller's, and :meth:`ended` gives it
    back to the writer, stored or to be written."""

    __slots__ = ("_item", "_writer", "key")

    def __init__(self, writer: BatchWriter[T], key: str, item: T) -> None:
        self._writer = writer
        self._item = item
        self.key = key

    def row(self) -> dict[str, Any]:
        """The item's row, as the writer would insert it."""
        return dict(self._writer._to_row(self._item))

    def ended(self, stored: bool) -> None:
        """Told once, when the caller's transaction ended: committed with the row, or not
        (the row goes back in the queue)."""
        self._writer._given_back(self.key, stored)


class _GaveUp(Exception):
    """The database kept failing until the stop limit."""


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]
