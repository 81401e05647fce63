"""Configuration change notices over a real Redis (store.config_notices): one worker's
announcement reaches every listening worker, its own included, and a refresh that fails
keeps the listener listening. The hosts tests (tests/hosts) show it across processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from pingtree.store.caps import create_redis
from pingtree.store.config_notices import ConfigNotices
from tests.support.databases import fresh_redis


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = create_redis(await fresh_redis(), max_connections=8)
    try:
        yield client
    finally:
        await client.aclose()


class Worker:
    """A worker's snapshot holder, as far as the notices see it: it counts its refreshes,
    and fails the first ``failures`` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.refreshes = 0
        self.failures = failures
        self.refreshed = asyncio.Event()

    async def refresh(self) -> None:
        self.refreshes += 1
        if self.refreshes <= self.failures:
            raise ValueError("a bad stored configuration")
        self.refreshed.set()


async def test_an_announcement_reaches_every_listening_worker(redis: Redis) -> None:
    workers = [Worker(), Worker()]
    notices = [ConfigNotices(redis, worker.refresh) for worker in workers]
    for listener in notices:
        listener.start()
    try:
        for listener in notices:
            await asyncio.wait_for(listener.listening.wait(), 5)
        await notices[0].announce()
        for worker in workers:
            await asyncio.wait_for(worker.refreshed.wait(), 5)
        assert [worker.refreshes for worker in workers] == [1, 1]
    finally:
        for listener in notices:
            await listener.stop()


async def test_a_refresh_that_fails_leaves_the_worker_listening(redis: Redis) -> None:
    worker = Worker(failures=1)
    listener = ConfigNotices(redis, worker.refresh)
    listener.start()
    try:
        await asyncio.wait_for(listener.listening.wait(), 5)
        await listener.announce()
        await listener.announce()
        await asyncio.wait_for(worker.refreshed.wait(), 5)
        assert worker.refreshes == 2
    finally:
        await listener.stop()
