"""Transactions run whole: committed when the work returns, rolled back when it raises; on
SQLite on the connection's own thread, in one trip, never on the event loop's."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import threading
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.db import is_sqlite
from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, ConfigState
from pingtree.store.transactions import Transactions, TransactionSuspended, Work

STATE = Base.metadata.tables[ConfigState.__tablename__]
_STATE_ROW = Prepared(insert(STATE))
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(STATE)) or 0)


async def test_work_is_committed_or_rolled_back_whole(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    before = await _count(sessions)

    async def add_one(session: AsyncSession) -> int:
        await session.execute(insert(STATE).values(id=2, version=7, updated_at=NOW))
        return int(await session.scalar(select(func.count()).select_from(STATE)) or 0)

    assert await transactions.run(add_one) == before + 1
    assert await _count(sessions) == before + 1

    async def fail_after_a_write(session: AsyncSession) -> None:
        await session.execute(insert(STATE).values(id=3, version=8, updated_at=NOW))
        raise LookupError("the work's own error")

    with pytest.raises(LookupError):
        await transactions.run(fail_after_a_write)
    assert await _count(sessions) == before + 1


async def test_on_sqlite_the_work_runs_off_the_event_loop(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    loop_thread = threading.get_ident()

    async def where(session: AsyncSession) -> int:
        await session.execute(select(1))
        return threading.get_ident()

    ran_on = await transactions.run(where)
    engine = sessions.kw["bind"]
    assert (ran_on != loop_thread) == is_sqlite(engine)


async def test_work_that_waits_on_anything_else_is_refused_on_sqlite(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    before = await _count(sessions)

    async def waits(session: AsyncSession) -> None:
        await session.execute(insert(STATE).values(id=4, version=9, updated_at=NOW))
        await asyncio.sleep(0.001)  # not the session's: it would hold the write lock

    if not is_sqlite(sessions.kw["bind"]):
        await transactions.run(waits)  # an ordinary transaction elsewhere
        return
    with pytest.raises(TransactionSuspended):
        await transactions.run(waits)
    assert await _count(sessions) == before  # rolled back


async def test_transactions_waiting_together_each_commit_or_fail_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Many at once (on SQLite they queue and run back to back on the connection's thread):
    each is its own transaction with its caller's context; one that fails rolls back alone.
    On SQLite, one whose caller was cancelled while it waited in line still runs to its end,
    as a statement already sent would."""
    transactions = Transactions(sessions)
    before = await _count(sessions)
    caller: contextvars.ContextVar[int] = contextvars.ContextVar("caller")

    async def add(number: int) -> int:
        caller.set(number)

        async def work(session: AsyncSession) -> int:
            await session.execute(insert(STATE).values(id=100 + number, version=1, updated_at=NOW))
            if number % 5 == 0:
                raise LookupError(number)
            return caller.get()

        return await transactions.run(work)

    results = await asyncio.gather(*(add(n) for n in range(1, 31)), return_exceptions=True)
    assert [r for r in results if isinstance(r, LookupError)] == [
        results[n - 1] for n in range(5, 31, 5)
    ]
    assert [r for r in results if not isinstance(r, Exception)] == [
        n for n in range(1, 31) if n % 5
    ]
    assert await _count(sessions) == before + 24
    if not is_sqlite(sessions.kw["bind"]):
        return  # elsewhere a cancelled caller's transaction is rolled back with it

    async def slow_add(session: AsyncSession) -> None:
        await session.execute(insert(STATE).values(id=200, version=1, updated_at=NOW))

    busy = [asyncio.create_task(transactions.run(slow_add))]
    cancelled = asyncio.create_task(
        transactions.run(
            lambda session: session.execute(insert(STATE).values(id=201, version=1, updated_at=NOW))
        )
    )
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(*busy)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    for _ in range(100):  # the cancelled caller's work was queued: it ran all the same
        if await _count(sessions) == before + 26:
            break
        await asyncio.sleep(0.01)
    assert await _count(sessions) == before + 26


async def test_a_transaction_of_one_statement_is_committed_as_it_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    row = {"id": 41, "version": 1, "updated_at": NOW}
    await transactions.run_one(lambda session: _STATE_ROW.run(session, row))
    async with sessions() as session:  # committed
        assert await session.scalar(select(STATE.c.version).where(STATE.c.id == 41)) == 1
    if is_sqlite(sessions.kw["bind"]):
        return  # a transaction on the connection's thread, as run()

    async def autocommit(session: AsyncSession) -> bool:
        raw = await (await session.connection()).get_raw_connection()
        return bool(raw.dbapi_connection.autocommit)  # type: ignore[union-attr]

    # no BEGIN nor COMMIT sent: the server commits the statement as it runs
    assert await transactions.run_one(autocommit) is True
    assert await transactions.run(autocommit) is False

    async def two(session: AsyncSession) -> None:
        await _STATE_ROW.run(session, {**row, "id": 42})
        await _STATE_ROW.run(session, {**row, "id": 43})

    with pytest.raises(RuntimeError, match="second statement"):
        await transactions.run_one(two)


class _After:
    """A transaction to commit next: inserts config state row ``id``, the id the work
    returned (none for ``None``)."""

    def __init__(self) -> None:
        self.given: list[int | None] = []
        self.told: list[int | None] = []
        self.thread: int | None = None

    def work(self, result: int | None) -> Work[int] | None:
        self.given.append(result)
        self.thread = threading.get_ident()
        if result is None:
            return None
        id_ = result

        async def insert_it(session: AsyncSession) -> int:
            await _STATE_ROW.run(session, {"id": id_, "version": 2, "updated_at": NOW})
            return id_

        return insert_it

    def ended(self, outcome: int | None) -> None:
        self.told.append(outcome)


def _inserting(id_: int, then: int | None) -> Work[int | None]:
    """A transaction's work: inserts config state row ``id_``, returns ``then``."""

    async def work(session: AsyncSession) -> int | None:
        await _STATE_ROW.run(session, {"id": id_, "version": 1, "updated_at": NOW})
        return then

    return work


async def test_a_transaction_to_commit_next_commits_alone_after_the_work(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    threads: list[int] = []
    inserting = _inserting(51, 52)

    async def work(session: AsyncSession) -> int | None:
        threads.append(threading.get_ident())
        return await inserting(session)

    after = _After()
    assert await transactions.run(work, after=after) == 52
    assert (after.given, after.told) == ([52], [52])  # on the loop, by the caller's answer
    async with sessions() as session:
        versions = await session.execute(select(STATE.c.id, STATE.c.version).where(STATE.c.id > 50))
        assert sorted(tuple(row) for row in versions) == [(51, 1), (52, 2)]
    if is_sqlite(sessions.kw["bind"]):  # the same trip to the connection's thread
        assert threads == [after.thread]
    nothing = _After()
    assert await transactions.run(_inserting(53, None), after=nothing) is None
    assert (nothing.given, nothing.told) == ([None], [None])


async def test_when_the_next_transaction_fails_the_work_still_stands(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    transactions = Transactions(sessions)
    start = await _count(sessions)
    after = _After()
    assert await transactions.run(_inserting(61, 61), after=after) == 61  # the same row
    assert after.told == [None]
    assert await _count(sessions) == start + 1
    assert "the transaction after another's failed" in caplog.text


async def test_when_the_work_fails_no_next_transaction_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    await transactions.run(_inserting(71, None))
    after = _After()
    with pytest.raises(IntegrityError):  # the same row again
        await transactions.run(_inserting(71, 72), after=after)
    assert (after.given, after.told) == ([], [])


async def test_a_next_transaction_is_told_its_end_when_its_caller_is_cancelled(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    after = _After()
    await _cancelled_in_line(sessions, lambda: transactions.run(_inserting(81, 82), after=after))
    for _ in range(50):
        if after.told:
            break
        await asyncio.sleep(0.02)
    async with sessions() as session:
        committed = await session.scalar(select(STATE.c.version).where(STATE.c.id == 81))
    if is_sqlite(sessions.kw["bind"]):  # queued, the work runs to its end: so does the next
        assert (committed, after.told) == (1, [82])
    else:  # the cancel may stop the work first, even as it commits: told only if committed
        assert after.told in ([], [82] if committed else [])


async def _cancelled_in_line(
    sessions: async_sessionmaker[AsyncSession], call: Callable[[], Awaitable[object]]
) -> None:
    """``call()`` queued behind a transaction that holds the line (on SQLite), then its
    caller gives up."""
    gate = threading.Event()

    async def hold(session: AsyncSession) -> None:
        await session.execute(select(1))
        if is_sqlite(sessions.kw["bind"]):
            gate.wait(5)

    holding = asyncio.create_task(Transactions(sessions).run(hold))
    await asyncio.sleep(0.05)
    caller = asyncio.ensure_future(call())
    await asyncio.sleep(0)  # under way (on SQLite: queued)
    caller.cancel()
    gate.set()
    await holding
    with pytest.raises(asyncio.CancelledError):
        await caller
