"""A ping's cap hold and an empty transaction on SQLite, one after another, in-process.

    .venv/bin/python bench/sqlite_transactions.py [--count 3000] [--rounds 3]
    PYTHONPATH=/tmp/pt-before/src .venv/bin/python bench/sqlite_transactions.py  # before

A temporary SQLite database at the newest migration; ``SqlCapLedger.reserve`` for 100
counters in turn (each a new ping, as a ping's winner holds its order's daily cap), then
``Transactions.run`` of work that does nothing. Printed per round: wall and CPU time per
call (the process's, both threads: the event loop's and the connection's).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from pingtree.domain.caps import CapCharge
from pingtree.store.caps_sql import SqlCapLedger
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate
from pingtree.store.transactions import Transactions


async def _timed(label: str, count: int, call: Callable[[int], Awaitable[object]]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    for number in range(count):
        await call(number)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: {wall / count * 1e6:.0f} µs wall, {cpu / count * 1e6:.0f} µs CPU")


async def main(count: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/bench.db"
        await migrate(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        ledger = SqlCapLedger(sessions)
        transactions = Transactions(sessions)
        now = dt.datetime.now(dt.UTC)
        expires = now + dt.timedelta(minutes=5)

        def hold(round_: int) -> Callable[[int], Awaitable[object]]:
            def call(number: int) -> Awaitable[bool]:
                charge = CapCharge(
                    scope=f"order:o{number % 100}",
                    window_key="count:d:2026-12-07",
                    limit=10**9,
                    amount=1,
                    window_end=None,
                    is_budget=False,
                )
                return ledger.reserve(f"p{round_}-{number}", [charge], expires, now)

            return call

        async def nothing(session: AsyncSession) -> None:
            return None

        try:
            for round_ in range(rounds):
                await _timed("cap hold", count, hold(round_))
            for _ in range(rounds):
                await _timed("empty transaction", count, lambda _: transactions.run(nothing))
        finally:
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.rounds))
