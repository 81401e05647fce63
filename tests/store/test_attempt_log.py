"""The delivery log's batching writer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.delivery.attempts import ATTEMPT_CONTEXT, MAX_KEPT_CHARS, Attempt
from pingtree.store.attempt_log import BatchedAttemptLog
from pingtree.store.tables import Lead
from pingtree.store.traffic_logs import AttemptRepository
from pingtree.store.transactions import Transactions

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def attempt(attempt_id: str, **changes: object) -> Attempt:
    base = Attempt(
        id=attempt_id,
        kind="ping",
        order_id="o1",
        buyer_id="b1",
        started_at=NOW,
        duration_ms=42,
        outcome="bid",
        method="POST",
        url="http://127.0.0.1:9/ping",
        request_headers={"Authorization": "•••"},
        request_body='{"zip": "33101"}',
        status=200,
        response_body='{"price": "12.50"}',
        parsed={"bid": "12.50", "token": "t-1"},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_attempts_are_written_in_batches_and_linked_to_their_ping(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = BatchedAttemptLog(Transactions(sessions), interval=0.01)
    log.start()
    ATTEMPT_CONTEXT.set(("ping-1", None))
    log.record(attempt("a1"))
    log.record(attempt("a2", outcome="timeout", status=None, response_body=""))
    ATTEMPT_CONTEXT.set((None, "lead-9"))
    log.record(attempt("a3", kind="post", response_body="x" * (MAX_KEPT_CHARS + 500)))
    for _ in range(100):
        async with sessions() as session:
            rows = await AttemptRepository(session).recent(10)
        if len(rows) == 3:
            break
        await asyncio.sleep(0.02)
    await log.stop()
    assert sorted((r.id, r.ping_id, r.lead_id, r.outcome) for r in rows) == [
        ("a1", "ping-1", None, "bid"),
        ("a2", "ping-1", None, "timeout"),
        ("a3", None, "lead-9", "bid"),
    ]
    async with sessions() as session:
        linked = await AttemptRepository(session).linked("lead-9", "ping-1")
        only_ping = await AttemptRepository(session).linked(None, "ping-1")
        timeouts = await AttemptRepository(session).recent(10, outcome="timeout")
    assert [r.id for r in linked] == ["a1", "a2", "a3"]
    assert [r.id for r in only_ping] == ["a1", "a2"]
    assert [r.id for r in timeouts] == ["a2"]
    post = next(r for r in linked if r.id == "a3")
    assert len(post.response_body) == MAX_KEPT_CHARS
    assert post.parsed == {"bid": "12.50", "token": "t-1"}


async def test_a_full_backlog_is_behind_and_keeps_every_attempt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = BatchedAttemptLog(Transactions(sessions), high_water=2)
    for i in range(5):
        log.record(attempt(f"a{i}"))
    assert log.behind
    assert log.backlog == 5
    await log.flush()
    assert not log.behind
    async with sessions() as session:
        assert len(await AttemptRepository(session).recent(10)) == 5


async def test_an_attempt_the_database_refuses_is_set_aside(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = BatchedAttemptLog(Transactions(sessions))
    log.record(attempt("a1"))
    log.record(attempt("a2", parsed={"bid": 10**20}))  # past 64 bits: no JSON takes it
    log.record(attempt("a3"))
    await log.flush()
    async with sessions() as session:
        rows = await AttemptRepository(session).recent(10)
    assert sorted(r.id for r in rows) == ["a1", "a3"]
    assert log.set_aside_count == 1
    assert log.backlog == 0


def test_every_attempt_field_is_stored() -> None:
    from pingtree.store.attempt_log import _row
    from pingtree.store.tables import AttemptRow

    names = {f.name for f in dataclasses.fields(Attempt)}
    assert set(_row(attempt("a1"))) == names
    assert names == set(AttemptRow.__table__.columns.keys())


async def test_header_names_from_the_http_client_are_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from multidict import CIMultiDict, istr

    headers = CIMultiDict({istr("Content-Type"): "application/json"})
    log = BatchedAttemptLog(Transactions(sessions))
    log.record(attempt("a1", response_headers=headers))
    await log.flush()
    async with sessions() as session:
        (row,) = await AttemptRepository(session).recent(10)
    assert row.response_headers == {"Content-Type": "application/json"}


def lead(lead_id: str, erased_at: dt.datetime | None) -> Lead:
    return Lead(
        id=lead_id,
        campaign_id="c1",
        supplier_id="s1",
        vertical_id="auto",
        test=False,
        status="sold",
        reasons=[],
        fields={},
        created_at=NOW,
        updated_at=NOW,
        erased_at=erased_at,
    )


async def test_an_exchange_written_after_its_lead_was_erased_keeps_nothing_said(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The log writes after the exchange: an erasure may come between, and must hold."""
    async with sessions.begin() as session:
        session.add_all([lead("gone", erased_at=NOW), lead("kept", erased_at=None)])
    log = BatchedAttemptLog(Transactions(sessions), interval=0.01)
    log.start()
    echo = '{"email": "zoe@example.com"}'
    said = {"request_body": echo, "response_body": echo, "response_headers": {"X-Echo": echo}}
    log.record(attempt("erased", kind="post", lead_id="gone", **said))
    log.record(attempt("other", kind="post", lead_id="kept", **said))
    log.record(attempt("ping", ping_id="p1"))
    await log.stop()
    async with sessions() as session:
        rows = {r.id: r for r in await AttemptRepository(session).recent(10)}
    erased = rows["erased"]
    assert (erased.request_body, erased.response_body, erased.parsed) == ("", "", {})
    assert (erased.request_headers, erased.response_headers) == ({}, {})
    assert (erased.outcome, erased.url) == ("bid", "http://127.0.0.1:9/ping")
    assert (rows["other"].request_body, rows["other"].response_body) == (echo, echo)
    assert rows["ping"].response_body == '{"price": "12.50"}'
