"""New rows kept back and sent together (``store.deferred``): on PostgreSQL a transaction's
inserts go to the server as one statement when it next needs the server; what the
transaction reads, commits or rolls back is as if each had gone at once. On SQLite (and
outside a transaction) each goes at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store import drivers
from pingtree.store.db import is_sqlite
from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, ConfigState, Lead, Sale
from pingtree.store.transactions import Transactions
from tests.store.rows import lead_row, sale_row

LEADS = Base.metadata.tables[Lead.__tablename__]
SALES = Base.metadata.tables[Sale.__tablename__]
STATE = Base.metadata.tables[ConfigState.__tablename__]
NEW_LEAD = Prepared(LEADS.insert(), deferrable=True)
NEW_SALE = Prepared(SALES.insert(), deferrable=True)
LEAD_IDS = Prepared(select(LEADS.c.id).order_by(LEADS.c.id))


@pytest.fixture
def statements_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of each statement sent through a prepared statement's asyncpg driver."""
    sent: list[str] = []
    driver = drivers._AsyncpgDriver
    for name in ("fetch", "execute", "execute_many"):
        original = getattr(driver, name)

        async def counted(self: Any, sql: str, values: Any, _original: Any = original) -> Any:
            sent.append(sql)
            return await _original(self, sql, values)

        monkeypatch.setattr(driver, name, counted)
    return sent


async def _lead_ids(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.scalars(select(LEADS.c.id).order_by(LEADS.c.id))).all())


async def test_a_transactions_new_rows_go_together_and_are_read_back(
    sessions: async_sessionmaker[AsyncSession], statements_sent: list[str]
) -> None:
    read: dict[str, Any] = {}

    async def sell(session: AsyncSession) -> None:
        await NEW_LEAD.run(session, lead_row("l1"))
        await NEW_SALE.run(session, [sale_row("s1", "l1"), sale_row("s2", "l1")])
        await NEW_LEAD.run(session, lead_row("l2"))
        read["sent before a read"] = len(statements_sent)
        read["prepared"] = [row[0] for row in await LEAD_IDS.rows(session, {})]
        await NEW_SALE.run(session, sale_row("s3", "l2"))
        read["orm"] = await session.scalar(select(func.count()).select_from(SALES))
        await NEW_LEAD.run(session, lead_row("l3"))
        lead = await session.get(Lead, "l3")
        read["get"] = lead.revenue_cents if lead is not None else None

    await Transactions(sessions).run(sell)
    assert read["prepared"] == ["l1", "l2"]
    assert read["orm"] == 3
    assert read["get"] == 0  # the column's default, filled in
    assert await _lead_ids(sessions) == ["l1", "l2", "l3"]
    if is_sqlite(sessions.kw["bind"]):
        return
    # kept until the read: then one statement for two leads and two sales
    assert read["sent before a read"] == 0
    together = [sql for sql in statements_sent if sql.lstrip().upper().startswith("WITH")]
    assert len(together) == 1
    assert together[0].count("INSERT INTO leads") == 2  # l1, then l2 after the sales
    assert together[0].count("INSERT INTO sales") == 1


async def test_a_refused_row_fails_the_whole_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def sell(session: AsyncSession) -> None:
        await NEW_LEAD.run(session, lead_row("l1"))
        await NEW_SALE.run(session, sale_row("s1", "no such lead"))

    with pytest.raises(IntegrityError):
        await Transactions(sessions).run(sell)
    assert await _lead_ids(sessions) == []

    async def after(session: AsyncSession) -> None:  # nothing of the last one is sent
        await NEW_LEAD.run(session, lead_row("l2"))

    await Transactions(sessions).run(after)
    assert await _lead_ids(sessions) == ["l2"]


async def test_rows_kept_before_a_savepoint_stay_when_it_rolls_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def the_same_lead_again(session: AsyncSession) -> None:
        async with session.begin_nested():
            await NEW_LEAD.run(session, lead_row("l2"))
            await NEW_LEAD.run(session, lead_row("l1"))  # refused

    async with sessions.begin() as session:
        await NEW_LEAD.run(session, lead_row("l1"))
        with pytest.raises(IntegrityError):
            await the_same_lead_again(session)
        await NEW_LEAD.run(session, lead_row("l3"))
    assert await _lead_ids(sessions) == ["l1", "l3"]


async def test_kept_rows_go_along_with_a_statement_on_other_tables(
    sessions: async_sessionmaker[AsyncSession], statements_sent: list[str]
) -> None:
    versions = Prepared(select(STATE.c.version).where(STATE.c.id == 1))

    async def sell(session: AsyncSession) -> object:
        await NEW_LEAD.run(session, lead_row("l1"))
        await NEW_SALE.run(session, sale_row("s1", "l1"))
        return await versions.rows(session, {})

    assert await Transactions(sessions).run(sell) == []
    assert await _lead_ids(sessions) == ["l1"]
    if is_sqlite(sessions.kw["bind"]):
        return
    (sent,) = statements_sent  # one round trip for the three statements
    assert sent.lstrip().startswith("WITH")
    assert "INSERT INTO leads" in sent
    assert "INSERT INTO sales" in sent
    assert "FROM config_state" in sent


async def test_a_transaction_that_only_adds_rows_is_one_statement_the_server_commits(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """No ``BEGIN``, no ``COMMIT``: one round trip, all of it or none."""
    if is_sqlite(sessions.kw["bind"]):
        pytest.skip("SQLite's transactions are begun on its own thread, with no round trip")

    async def sell(session: AsyncSession) -> None:
        await NEW_LEAD.run(session, lead_row("l1"))
        await NEW_SALE.run(session, sale_row("s1", "l1"))

    async def refused(session: AsyncSession) -> None:
        await NEW_LEAD.run(session, lead_row("l2"))
        await NEW_SALE.run(session, sale_row("s2", "no such lead"))

    async def read_then_sell(session: AsyncSession) -> None:
        await LEAD_IDS.rows(session, {})
        await NEW_LEAD.run(session, lead_row("l3"))

    assert await _transaction_ends(sessions, sell) == []
    with pytest.raises(IntegrityError):
        await _transaction_ends(sessions, refused)
    # a transaction that read first has begun: its rows go at its commit, in it
    assert await _transaction_ends(sessions, read_then_sell) == ["BEGIN", "COMMIT"]
    assert await _lead_ids(sessions) == ["l1", "l3"]  # nothing of the refused one


async def _transaction_ends(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[None]]
) -> list[str]:
    """The ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` sent for ``work``'s transaction."""
    sent: list[str] = []
    watched: list[Any] = []

    def log(query: Any) -> None:
        sent.append(query.query)

    async def watched_work(session: AsyncSession) -> None:
        raw = await (await session.connection()).get_raw_connection()
        connection = raw.dbapi_connection._connection  # type: ignore[union-attr]
        connection.add_query_logger(log)  # each query sent without parameters
        watched.append(connection)
        await work(session)

    try:
        await Transactions(sessions).run(watched_work)
    finally:
        await asyncio.sleep(0)  # asyncpg calls its loggers soon, not at once
        for connection in watched:
            connection.remove_query_logger(log)
    ends = ("BEGIN", "COMMIT", "ROLLBACK")
    return [query.split()[0].rstrip(";") for query in sent if query.startswith(ends)]
