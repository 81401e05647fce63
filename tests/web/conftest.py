"""The admin UI against a running pingtree: real HTTP, a real browser (Debian's chromium).

Browser tests skip when ``/usr/bin/chromium`` is absent, except under ``CI=true``, where they
fail: CI installs it (``.ci/run``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pingtree.api.app import create_app
from pingtree.settings import Settings
from pingtree.store.db import create_engine, session_factory
from pingtree.store.users import UserRepository
from tests.api.conftest import MONDAY_10AM_NEW_YORK, admin_token, market_settings
from tests.api.market import Market
from tests.support.clock import FrozenClock
from tests.support.databases import backend_kind
from tests.support.server import serve_app

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery"
#: username → role: one person per role
PEOPLE = {"ada": "admin", "otto": "operator", "ana": "analyst"}

T = TypeVar("T")


def in_thread(call: Callable[[], T]) -> T:
    """``call()`` in a thread of its own: Playwright's sync API keeps an event loop marked as
    running in the test's thread, where ``asyncio.run`` refuses to start."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def create_people(settings: Settings) -> None:
    async def create() -> None:
        engine = create_engine(settings.resolved_database_url())
        try:
            async with session_factory(engine).begin() as session:
                users = UserRepository(session)
                for username, role in PEOPLE.items():
                    await users.create(username, PASSWORD, role, dt.datetime.now(dt.UTC))
        finally:
            await engine.dispose()

    in_thread(lambda: asyncio.run(create()))


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    """A running pingtree with its clock frozen, an admin token and one user per role."""
    clock = FrozenClock(MONDAY_10AM_NEW_YORK)
    settings = in_thread(lambda: market_settings(tmp_path))
    token = in_thread(lambda: admin_token(settings))
    create_people(settings)
    with (
        serve_app(create_app(settings, clock=clock)) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as http,
    ):
        yield Market(http, token, clock, settings)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright's sync API for one test module.

    Not pytest-playwright's session-wide fixtures: their event loop stays marked as running
    in the main thread until the session ends, and every later ``asyncio.run`` would fail.

    The browser tests run in the SQLite leg of ``.ci/run``: the pages are the same on both
    engines, and the PostgreSQL leg opens them over HTTP (the scope walk, the pages' tests),
    which keeps CI well inside its time."""
    if backend_kind() == "postgres":
        pytest.skip("the browser tests run in the SQLite leg (PINGTREE_DATABASE_URL unset)")
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is absent (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must run the browser tests")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page per test."""
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()
