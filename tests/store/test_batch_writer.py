"""The bounded, isolated batch writer (DESIGN §9), through the pings' writer, on SQLite and
PostgreSQL: a bad row is set aside without blocking the rest, a failing database is waited
out, a backlog past high water is reported and never dropped, every wait has a limit."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, TypeVar

import pytest
import uuid_utils
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.batch_writer import BatchWriter, Taken, WriterBehind
from pingtree.store.ping_writer import PingWriter
from pingtree.store.set_aside import SetAsideRepository, is_transient, printable
from pingtree.store.tables import Ping
from pingtree.store.traffic import PingRepository
from pingtree.store.transactions import After, Transactions, Work

NOW = dt.datetime(2026, 12, 6, 15, 0, tzinfo=dt.UTC)


def ping(**changes: Any) -> dict[str, Any]:
    return {
        "id": str(uuid_utils.uuid7()),
        "campaign_id": "acme_auto",
        "supplier_id": "acme",
        "vertical_id": "auto_insurance",
        "test": False,
        "status": "accepted",
        "reasons": [],
        "fields": {"zip": "33101", "vehicles": 2},
        "bid_cents": 1200,
        "revenue_cents": 2000,
        "answer": {"status": "accepted"},
        "auction": {},
        "idempotency_key": None,
        "created_at": NOW,
        "expires_at": NOW + dt.timedelta(minutes=5),
        **changes,
    }


async def stored_ids(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        return set((await session.scalars(select(Ping.id))).all())


async def test_a_row_the_database_refuses_is_set_aside_and_the_rest_are_written(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer = PingWriter(Transactions(sessions))
    writer.start()
    good = [ping() for _ in range(9)]
    # past 64 bits: no JSON encoder of either engine takes it (issue 11's stuck writer)
    bad = ping(fields={"vehicles": 10**20})
    for row in [*good[:4], bad, *good[4:]]:
        writer.add(row)
    await writer.drained()
    assert await stored_ids(sessions) == {row["id"] for row in good}
    assert writer.set_aside_count == 1
    later = ping()
    writer.add(later)
    await writer.settled(later["id"])
    await writer.stop()
    assert later["id"] in await stored_ids(sessions)
    async with sessions() as session:
        (aside,) = await SetAsideRepository(session).recent(10)
        counts = await SetAsideRepository(session).counts()
    assert (aside.writer, aside.row_key) == ("ping-writer", bad["id"])
    assert aside.row["fields"] == {"vehicles": "100000000000000000000"}
    assert "64-bit" in aside.error
    assert counts == {"ping-writer": 1}


async def test_a_row_breaking_a_constraint_is_set_aside(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer = PingWriter(Transactions(sessions))
    first = ping()
    writer.add(first)
    await writer.flush()
    again = ping(id=first["id"])  # the same primary key
    others = [ping() for _ in range(3)]
    for row in [again, *others]:
        writer.add(row)
    await writer.flush()
    assert await stored_ids(sessions) == {first["id"], *(row["id"] for row in others)}
    assert writer.set_aside_count == 1
    assert writer.backlog == 0


T = TypeVar("T")


class FlakyTransactions(Transactions):
    """Real transactions that fail as a database that is down would, ``failures`` times,
    before they work again (or always)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], failures: int) -> None:
        super().__init__(sessions)
        self.failures = failures
        self.tries = 0

    async def run(self, work: Work[T], *, after: After | None = None) -> T:
        self._fail_first()
        return await super().run(work, after=after)

    async def run_one(self, work: Work[T]) -> T:
        self._fail_first()
        return await super().run_one(work)

    def _fail_first(self) -> None:
        self.tries += 1
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database is down"))


async def test_a_failing_database_is_waited_out_and_nothing_is_set_aside(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    flaky = FlakyTransactions(sessions, failures=3)
    writer = PingWriter(flaky)
    writer.start()
    rows = [ping() for _ in range(5)]
    for row in rows:
        writer.add(row)
    await writer.drained(seconds=10)
    await writer.stop()
    assert flaky.tries == 4
    assert await stored_ids(sessions) == {row["id"] for row in rows}
    assert writer.set_aside_count == 0


async def test_stop_gives_up_on_a_database_that_stays_down(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    flaky = FlakyTransactions(sessions, failures=10**6)
    writer = BatchWriter[dict[str, Any]](
        "ping-writer",
        flaky,
        Ping.__table__,  # type: ignore[arg-type]
        key=lambda row: str(row["id"]),
        to_row=dict,
        stop_seconds=0.5,
    )
    writer.start()
    writer.add(ping())
    await asyncio.sleep(0.05)
    async with asyncio.timeout(10):  # SIGTERM must not hang
        await writer.stop()
    assert writer.lost_count == 1


async def test_a_backlog_past_high_water_is_behind_and_nothing_is_dropped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer = PingWriter(Transactions(sessions), high_water=4)
    rows = [ping() for _ in range(6)]
    for row in rows[:3]:
        writer.add(row)
    assert not writer.behind
    for row in rows[3:]:
        writer.add(row)  # accepted work is always kept
    assert writer.behind
    assert writer.backlog == 6
    await writer.flush()
    assert not writer.behind
    assert await stored_ids(sessions) == {row["id"] for row in rows}


async def test_every_wait_has_a_limit(sessions: async_sessionmaker[AsyncSession]) -> None:
    writer = PingWriter(
        Transactions(sessions), wait_seconds=0.05
    )  # never started: nothing is written
    row = ping()
    writer.add(row)
    with pytest.raises(WriterBehind):
        await writer.settled(row["id"])
    with pytest.raises(WriterBehind):
        await writer.drained()
    await writer.settled("not-queued-here")  # this process never had it: at once


async def test_a_post_waiting_for_its_ping_ends_the_writers_linger(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer = PingWriter(Transactions(sessions))
    writer._linger = 30.0  # a linger no test would sit out
    writer.start()
    try:
        row = ping()
        writer.add(row)
        await asyncio.wait_for(writer.settled(row["id"]), 5)
        assert await stored_ids(sessions) == {row["id"]}
    finally:
        await writer.stop()


async def test_a_ping_in_the_batch_being_written_is_waited_for(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer = PingWriter(Transactions(sessions))
    row = ping()
    writer.add(row)
    writing = asyncio.create_task(writer.flush())
    await asyncio.sleep(0)  # the batch has left the queue
    assert writer.pending(row["id"])
    await writer.settled(row["id"])
    await writing
    assert await stored_ids(sessions) == {row["id"]}


def test_transient_and_data_errors_are_told_apart() -> None:
    assert is_transient(OperationalError("INSERT", {}, Exception("database is locked")))
    assert is_transient(ConnectionRefusedError())
    assert not is_transient(TypeError("Integer exceeds 64-bit range"))


def test_printable_keeps_what_json_cannot() -> None:
    assert printable({"n": 2**70, "d": NOW, "s": "a\x00b", "x": b"\x01"}) == {
        "n": str(2**70),
        "d": NOW.isoformat(),
        "s": "a\\x00b",
        "x": "b'\\x01'",
    }


async def test_set_aside_counts_by_writer(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        assert await SetAsideRepository(session).counts() == {}
        assert (await session.scalar(select(func.count()).select_from(Ping))) == 0


async def test_a_taken_ping_is_stored_by_its_taker_and_seen_until_then(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    writer = PingWriter(transactions)
    writer.start()
    try:
        row, other = ping(), ping()
        writer.add(row)
        taken = writer.take(row["id"])
        assert taken is not None
        assert writer.take(row["id"]) is None  # one taker
        writer.add(other)
        await writer.settled(other["id"])
        # the writer wrote the other, not the taken one, which is still seen here
        assert await stored_ids(sessions) == {other["id"]}
        assert (writer.get(row["id"]) or {}).get("id") == row["id"]
        assert writer.backlog == 1
        waiting = asyncio.create_task(writer.settled(row["id"]))
        await asyncio.sleep(0.05)
        assert not waiting.done()

        await _store(transactions, taken)
        await asyncio.wait_for(waiting, 5)
        assert writer.backlog == 0
        assert writer.get(row["id"]) is None
        assert await stored_ids(sessions) == {row["id"], other["id"]}
    finally:
        await writer.stop()
    assert writer.set_aside_count == 0  # never written twice


async def test_a_taken_ping_its_taker_could_not_store_goes_back_to_the_writer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    writer = PingWriter(FlakyTransactions(sessions, failures=1))
    writer.start()
    try:
        row = ping()
        writer.add(row)
        taken = writer.take(row["id"])
        assert taken is not None

        with pytest.raises(OperationalError):  # the database fails the taker's try
            await _store(FlakyTransactions(sessions, failures=1), taken)
        await writer.settled(row["id"], seconds=5)
        assert await stored_ids(sessions) == {row["id"]}
    finally:
        await writer.stop()


async def _store(transactions: Transactions, taken: Taken[dict[str, Any]]) -> None:
    """What a taker does: ``taken``'s row inserted in a transaction of its own, then it is
    told how that ended."""
    stored = False
    try:
        await transactions.run(lambda session: PingRepository(session).insert(taken.row()))
        stored = True
    finally:
        taken.ended(stored)
