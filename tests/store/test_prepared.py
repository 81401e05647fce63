"""Prepared statements: the very SQL and values SQLAlchemy would send, straight to SQLite's
driver inside a transaction on its thread, through the session anywhere else."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, create_engine, event, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pingtree.store.db import is_sqlite
from pingtree.store.prepared import Prepared
from pingtree.store.tables import Base, CapHold
from pingtree.store.transactions import Transactions

HOLDS = Base.metadata.tables[CapHold.__tablename__]
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)

INSERT = Prepared(HOLDS.insert())
#: the holds of some counters unexpired at ``now``: an expanding tuple parameter and a
#: converted one (an aware datetime, stored naive on SQLite)
UNEXPIRED = Prepared(
    select(HOLDS.c.ping_id, HOLDS.c.scope, HOLDS.c.amount)
    .where(
        tuple_(HOLDS.c.scope, HOLDS.c.window_key).in_(bindparam("keys", expanding=True)),
        HOLDS.c.expires_at > bindparam("now"),
    )
    .order_by(HOLDS.c.id)
)


def _hold(ping_id: str, scope: str, minutes: int) -> dict[str, object]:
    return {
        "ping_id": ping_id,
        "scope": scope,
        "window_key": "count:d:2026-12-07",
        "amount": 1,
        "expires_at": NOW + dt.timedelta(minutes=minutes),
    }


async def test_prepared_statements_read_and_write_as_the_session_does(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    holds = [_hold("p1", "order:a", 5), _hold("p2", "order:b", -5), _hold("p3", "order:c", 5)]

    async def write(session: AsyncSession) -> None:
        await INSERT.run(session, holds)
        await INSERT.run(session, _hold("p4", "order:a", 10))

    await transactions.run(write)

    window = "count:d:2026-12-07"
    for keys in ([("order:a", window)], [("order:a", window), ("order:b", window)], []):
        params = {"keys": keys, "now": NOW}

        async def read(session: AsyncSession, params: dict[str, object] = params) -> object:
            return await UNEXPIRED.rows(session, params)

        async with sessions() as session:
            expected = [tuple(row) for row in await session.execute(UNEXPIRED._statement, params)]
        assert await transactions.run(read) == expected
        async with sessions() as session:  # outside a transaction's thread: the session
            assert await UNEXPIRED.rows(session, params) == expected
    assert expected == []
    # written in the format SQLAlchemy writes (SQLite compares datetimes as text) and read
    # back converted, as an aware datetime
    async with sessions() as session:
        found = await session.scalar(
            select(HOLDS.c.ping_id).where(HOLDS.c.expires_at == NOW + dt.timedelta(minutes=10))
        )
    assert found == "p4"
    read_moment = Prepared(select(HOLDS.c.expires_at).where(HOLDS.c.ping_id == bindparam("p")))
    assert await transactions.run(lambda session: read_moment.rows(session, {"p": "p4"})) == [
        (NOW + dt.timedelta(minutes=10),)
    ]
    assert await transactions.run(
        lambda session: UNEXPIRED.rows(session, {"keys": [("order:a", window)], "now": NOW})
    ) == [("p1", "order:a", 1), ("p4", "order:a", 1)]


async def test_they_bypass_sqlalchemy_and_see_what_the_session_added(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transactions = Transactions(sessions)
    sent: list[str] = []
    await transactions.run(lambda session: UNEXPIRED.rows(session, {"keys": [], "now": NOW}))
    # the engine whose statements the ORM's go through: on SQLite the one the transactions
    # run their ORM work on, over its one connection
    engine = sessions.kw["bind"]
    sync_engine = transactions._sync[1] if transactions._sync else engine.sync_engine
    assert is_sqlite(engine) == (transactions._sync is not None)
    event.listen(sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))

    async def add_then_read(session: AsyncSession) -> object:
        session.add(CapHold(**_hold("p9", "order:z", 5)))  # pending in the ORM session
        return await UNEXPIRED.rows(
            session, {"keys": [("order:z", "count:d:2026-12-07")], "now": NOW}
        )

    assert await transactions.run(add_then_read) == [("p9", "order:z", 1)]
    # the ORM's insert went through SQLAlchemy; the prepared select did not
    assert [sql.split()[0] for sql in sent] == ["INSERT"]


def test_an_expanding_parameter_whose_values_need_converting_is_refused() -> None:
    engine = create_engine("sqlite://")
    statement = Prepared(
        select(HOLDS.c.id).where(HOLDS.c.expires_at.in_(bindparam("moments", expanding=True)))
    )

    with pytest.raises(TypeError, match="moments"):
        statement._for(engine.dialect, {"moments": [NOW]})


async def test_a_column_left_out_gets_its_default_and_errors_come_as_sqlalchemys(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    usage = Base.metadata.tables["cap_usage"]
    insert_usage = Prepared(usage.insert())
    transactions = Transactions(sessions)
    # ``used`` is left out: its default (0) goes in, as with SQLAlchemy's own insert
    await transactions.run(
        lambda session: insert_usage.run(session, {"scope": "order:a", "window_key": "w"})
    )
    async with sessions() as session:
        assert list(await session.execute(select(usage.c.used))) == [(0,)]
    with pytest.raises(IntegrityError):  # the same key again: the driver's error, wrapped
        await transactions.run(
            lambda session: insert_usage.run(
                session, [{"scope": "order:a", "window_key": "w", "used": 1}]
            )
        )
