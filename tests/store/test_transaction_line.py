"""SQLite's line of transactions commits them in groups: one ``COMMIT`` for those waiting
together, each rolled back alone when it fails, its caller answered only once its group
committed, a follow-up only once its own transaction did."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from pingtree.store.db import create_engine, session_factory
from pingtree.store.transaction_line import LineWatch, line_of
from pingtree.store.transactions import Transactions, Work
from tests.support.databases import fresh_database


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await fresh_database("sqlite", tmp_path))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await connection.execute(
            text(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER"
                " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def statements(engine: AsyncEngine) -> list[str]:
    """Every statement SQLite runs from now on, in order (its ``COMMIT`` s among them)."""
    ran: list[str] = []
    pooled = await engine.raw_connection()
    try:
        await pooled.driver_connection.set_trace_callback(ran.append)  # type: ignore[union-attr]
    finally:
        await greenlet_spawn(pooled.close)
    return ran


def _parent(id_: int) -> Work[int]:
    async def insert(session: AsyncSession) -> int:
        await session.execute(text("INSERT INTO parent (id) VALUES (:id)"), {"id": id_})
        return id_

    return insert


async def _fails(session: AsyncSession) -> None:
    """A transaction that writes, then fails with its own error."""
    await _parent(99)(session)
    raise LookupError("its own error")


async def _parents(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        return list(await session.scalars(text("SELECT id FROM parent ORDER BY id")))


async def _queued_together(
    transactions: Transactions, calls: Sequence[Callable[[], Awaitable[Any]]]
) -> list[Any]:
    """``calls`` queued while a transaction holds the line, then run: their outcomes."""
    gate = threading.Event()

    async def hold(session: AsyncSession) -> None:
        await session.execute(select(1))
        gate.wait(5)

    holding = asyncio.create_task(transactions.run(hold))
    await asyncio.sleep(0.05)
    waiting = [asyncio.ensure_future(call()) for call in calls]
    await asyncio.sleep(0.05)  # all in line
    gate.set()
    await holding
    return await asyncio.gather(*waiting, return_exceptions=True)


async def test_transactions_waiting_together_commit_once_and_fail_alone(
    sessions: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    transactions = Transactions(sessions)
    works: list[Work[Any]] = [_parent(id_) for id_ in range(1, 6)]
    works.insert(2, _fails)
    calls = [functools.partial(transactions.run, work) for work in works]
    waits: list[float] = []
    groups: list[int] = []
    line_of(sessions.kw["bind"]).watch(LineWatch(waits.append, groups.append))
    statements.clear()
    outcomes = await _queued_together(transactions, calls)

    assert outcomes[:2] + outcomes[3:] == [1, 2, 3, 4, 5]
    assert isinstance(outcomes[2], LookupError)
    assert await _parents(sessions) == [1, 2, 3, 4, 5]  # 99 rolled back alone
    # the one holding the line, then the six that waited together: two commits, not seven
    assert statements.count("COMMIT") == 2
    assert statements.count("ROLLBACK TO line") == 1
    assert groups == [1, 6]  # as the line reports them
    assert len(waits) == 7
    assert max(waits) >= 0.05  # the six waited behind the one holding the line


async def test_a_group_whose_commit_fails_fails_whole(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)

    async def orphan(session: AsyncSession) -> None:
        # its parent is checked at the commit: the group's
        await session.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 404)"))

    outcomes = await _queued_together(
        transactions,
        [functools.partial(transactions.run, work) for work in (_parent(1), orphan, _parent(2))],
    )

    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes), outcomes
    assert await _parents(sessions) == []  # none of it stands
    assert await transactions.run(_parent(3)) == 3  # and the line goes on
    assert await _parents(sessions) == [3]


async def test_a_group_sqlite_ended_itself_fails_whole(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """As after a full disk or an I/O error, where SQLite rolls the whole transaction back
    on its own: the savepoint is gone with it, and so is all the group wrote; whoever waits
    behind it runs in the next group."""
    transactions = Transactions(sessions)

    async def ends_it(session: AsyncSession) -> None:
        await session.execute(text("ROLLBACK"))
        raise OSError("disk full")

    outcomes = await _queued_together(
        transactions,
        [functools.partial(transactions.run, work) for work in (_parent(1), ends_it, _parent(2))],
    )

    assert [type(outcome) for outcome in outcomes[:2]] == [OSError, OSError], outcomes
    assert outcomes[2] == 2
    assert await _parents(sessions) == [2]


class _Child:
    """A follow-up inserting the child of the parent its transaction inserted."""

    def __init__(self) -> None:
        self.told: list[int | None] = []

    def work(self, parent: int) -> Work[int]:
        async def insert(session: AsyncSession) -> int:
            await session.execute(
                text("INSERT INTO child (id, parent_id) VALUES (:id, :id)"), {"id": parent}
            )
            return parent

        return insert

    def ended(self, outcome: int | None) -> None:
        self.told.append(outcome)


async def test_a_follow_up_runs_once_its_transaction_committed(
    sessions: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    transactions = Transactions(sessions)
    children = [_Child() for _ in range(3)]
    statements.clear()
    outcomes = await _queued_together(
        transactions,
        [
            functools.partial(transactions.run, _parent(id_), after=child)
            for id_, child in enumerate(children, start=1)
        ],
    )

    assert outcomes == [1, 2, 3]
    assert [child.told for child in children] == [[1], [2], [3]]  # told before the answer
    for id_ in (1, 2, 3):
        parent = statements.index(f"INSERT INTO parent (id) VALUES ({id_})")
        child = statements.index(f"INSERT INTO child (id, parent_id) VALUES ({id_}, {id_})")
        assert "COMMIT" in statements[parent:child]  # its parent was durable first
    # the three parents in one group, their three children in the next
    assert statements.count("COMMIT") == 3
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(text("child"))) == 3


async def test_a_transaction_alone_in_line_needs_no_savepoint(
    sessions: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    transactions = Transactions(sessions)
    await transactions.run(_parent(0))  # the first sets up the ORM's engine
    statements.clear()
    assert await transactions.run(_parent(1)) == 1
    with pytest.raises(LookupError):
        await transactions.run(_fails)
    assert await transactions.run(_parent(2)) == 2

    assert statements == [
        "BEGIN IMMEDIATE",
        "INSERT INTO parent (id) VALUES (1)",
        "COMMIT",
        "BEGIN IMMEDIATE",
        "INSERT INTO parent (id) VALUES (99)",
        "ROLLBACK",  # the whole transaction: it was the only one in it
        "BEGIN IMMEDIATE",
        "INSERT INTO parent (id) VALUES (2)",
        "COMMIT",
    ]
    assert await _parents(sessions) == [0, 1, 2]


async def test_follow_ups_commit_before_whoever_queued_meanwhile_runs(
    sessions: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    """A follow-up is its first transaction's caller's wait: it goes in a group of its own
    at once, not in one with the work of those that queued behind."""
    transactions = Transactions(sessions)
    child = _Child()
    gate = threading.Event()

    async def parent_held(session: AsyncSession) -> int:
        await _parent(1)(session)
        gate.wait(5)
        return 1

    statements.clear()
    first = asyncio.create_task(transactions.run(parent_held, after=child))
    await asyncio.sleep(0.05)  # on the connection's thread
    newcomer = asyncio.ensure_future(transactions.run(_parent(2)))
    await asyncio.sleep(0.05)  # in line behind it
    gate.set()

    assert await first == 1
    assert await newcomer == 2
    assert child.told == [1]
    follow_up = statements.index("INSERT INTO child (id, parent_id) VALUES (1, 1)")
    queued = statements.index("INSERT INTO parent (id) VALUES (2)")
    assert statements[follow_up + 1] == "COMMIT"
    assert follow_up < queued
    # read through the pool: once the line has given its connection back
    assert await _parents(sessions) == [1, 2]
