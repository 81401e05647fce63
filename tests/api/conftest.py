"""A running pingtree per test: the real app over real HTTP on 127.0.0.1.

The backend follows the environment, as ``.ci/run`` sets it: embedded SQLite by default,
PostgreSQL + Redis when ``PINGTREE_DATABASE_URL`` names PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from pingtree.api.app import create_app
from pingtree.bootstrap import create_api_key
from pingtree.settings import Settings
from pingtree.store.ping_writer import PingWriter
from tests.api.market import Market
from tests.support.clock import FrozenClock
from tests.support.databases import backend_kind, fresh_database, fresh_redis
from tests.support.server import serve_app

#: Monday 23 November 2026, 10:00 in New York
MONDAY_10AM_NEW_YORK = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
SECRET = "test-secret-" + "s" * 32


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY_10AM_NEW_YORK)


def market_settings(tmp_path: Path) -> Settings:
    kind = backend_kind()
    url = asyncio.run(fresh_database(kind, tmp_path))
    redis_url = asyncio.run(fresh_redis()) if kind == "postgres" else None
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        redis_url=redis_url,
        secret_key=SECRET,
        config_poll_seconds=0.2,
        cap_room_refresh_seconds=0.2,
        return_rates_refresh_seconds=0.2,
        # the mock buyers live on loopback, which a real deployment never calls
        outbound_allow=["127.0.0.1"],
    )


def admin_token(settings: Settings) -> str:
    return asyncio.run(create_api_key(settings, "admin", None, "tests"))


@pytest.fixture
def market(tmp_path: Path, clock: FrozenClock) -> Iterator[Market]:
    settings = market_settings(tmp_path)
    token = admin_token(settings)
    with (
        serve_app(create_app(settings, clock=clock)) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        yield Market(http, token, clock, settings)


@pytest.fixture
def writing(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[Market, PingWriter]]:
    """A server, and its pings' writer."""
    yield from _with_writer(market_settings(tmp_path), clock)


@pytest.fixture
def behind(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[Market, PingWriter]]:
    """A server whose pings' writer reports ``behind`` from one queued ping (high water 1),
    and that writer."""
    settings = market_settings(tmp_path).model_copy(update={"ping_writer_high_water": 1})
    yield from _with_writer(settings, clock)


def _with_writer(settings: Settings, clock: FrozenClock) -> Iterator[tuple[Market, PingWriter]]:
    token = admin_token(settings)
    app = create_app(settings, clock=clock)
    with (
        serve_app(app) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        yield Market(http, token, clock, settings), app.state.runtime.ports.pings


@contextmanager
def database_down(writer: PingWriter) -> Iterator[None]:
    """The writer's transactions fail as a database that is down would, until the block
    ends."""
    transactions = writer._transactions
    writer._transactions = _DatabaseDown()  # type: ignore[assignment]
    try:
        yield
    finally:
        writer._transactions = transactions


class _DatabaseDown:
    async def run(self, work: object) -> object:
        raise OperationalError("INSERT", {}, ConnectionRefusedError("database is down"))

    # a writer with nothing to do after its insert sends it as a transaction of one statement
    run_one = run
