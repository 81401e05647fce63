"""Two OS processes race for the last slots of one cap on one database: never one too many."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from pingtree.store.db import create_engine, session_factory
from pingtree.store.tables import CapUsage
from tests.support.databases import fresh_database, fresh_redis

WORKER = Path(__file__).with_name("race_worker.py")
ROOT = Path(__file__).resolve().parents[2]
LIMIT = 100
ALREADY_SOLD = 70
ATTEMPTS = 40  # per process, for the 30 slots left

STORES = [
    pytest.param("sqlite", "reserve", id="sqlite-reserve"),
    pytest.param("sqlite", "commit", id="sqlite-commit"),
    pytest.param("postgres", "reserve", id="postgres-reserve", marks=pytest.mark.postgres),
    pytest.param("postgres", "commit", id="postgres-commit", marks=pytest.mark.postgres),
    pytest.param(
        "redis",
        "reserve",
        id="redis-postgres-reserve",
        marks=[pytest.mark.postgres, pytest.mark.redis],
    ),
]


@pytest.mark.parametrize(("store", "mode"), STORES)
async def test_two_processes_race_for_the_last_slots(store: str, mode: str, tmp_path: Path) -> None:
    url = await fresh_database("sqlite" if store == "sqlite" else "postgres", tmp_path)
    redis = await fresh_redis() if store == "redis" else "-"
    engine = create_engine(url)
    workers: list[asyncio.subprocess.Process] = []
    try:
        async with session_factory(engine).begin() as session:
            session.add(CapUsage(scope="order:race", window_key="count:t", used=ALREADY_SOLD))

        workers += [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                url,
                redis,
                str(ATTEMPTS),
                tag,
                str(LIMIT),
                mode,
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for tag in ("a", "b")
        ]
        sold = await asyncio.wait_for(_start_together(workers), timeout=120)
        async with session_factory(engine)() as session:
            used = await session.scalar(select(CapUsage.used).where(CapUsage.scope == "order:race"))
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        await engine.dispose()
    assert sum(sold) == LIMIT - ALREADY_SOLD
    assert used == LIMIT


async def _start_together(workers: list[asyncio.subprocess.Process]) -> list[int]:
    """Wait until every worker is connected, start them at once, collect what they sold."""
    for worker in workers:
        assert worker.stdout is not None
        line = await worker.stdout.readline()
        if line != b"ready\n":
            _, err = await worker.communicate()
            raise AssertionError(f"worker failed: {line!r} {err.decode()}")
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    sold = []
    for worker in workers:
        out, err = await worker.communicate()
        assert worker.returncode == 0, err.decode()
        sold.append(json.loads(out)["sold"])
    return sold
